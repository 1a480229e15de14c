"""Build one function's deployment for Lambda python3.12: its handler and only the modules of the
runtime package (``modelsteward``) it can reach, bytecode compiled, without Docker.

    python build_function.py <FunctionLogicalId> <source_dir> <artifacts_dir>   # functions/Makefile

``sam build`` runs functions/Makefile (``Metadata: BuildMethod: makefile``) in a copy of the
function's CodeUri, so ``source_dir`` holds its ``app.py``. What the handler reaches is read from
the import statements (import_graph.py: function-level imports included, each package's
``__init__`` with what it imports); the runtime imports none of its own modules by name
(tests/unit/test_architecture.py), so the scan sees every module a code path can load. The
third-party packages stay in StewardLayer and the dependency layers; ``make size`` checks each
built deployment against its handler's reach and runs it in python3.12.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from build_layer import compile_bytecode, mib
from import_graph import handler_closure, source_file

HERE = Path(__file__).resolve().parent
RUNTIME_SITE = HERE.parent / "steward"  # layers/steward: the directory holding the runtime package
PACKAGE = "modelsteward"


def reachable(handler: Path, site: Path = RUNTIME_SITE) -> list[str]:
    """The runtime's modules a handler can import: what its deployment holds, no more, no less."""
    return handler_closure(handler, site, PACKAGE)[0]


def build(name: str, source: Path, artifacts: Path, bytecode: bool = True) -> list[str]:
    """Copy the handler and its reach of the runtime into ``artifacts``; returns the modules."""
    handler = source / "app.py"
    if not handler.is_file():
        raise SystemExit(f"{name}: no app.py in {source} (the function's CodeUri)")
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(artifacts / PACKAGE, ignore_errors=True)  # a rebuild never keeps a module it dropped
    shutil.copytree(source, artifacts, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    modules = reachable(handler)
    for module in modules:
        path = source_file(RUNTIME_SITE, module)
        assert path is not None  # reachable() lists only modules with a source file
        target = artifacts / path.relative_to(RUNTIME_SITE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if bytecode:
        compile_bytecode(artifacts)
    print(f"{name}: app.py + {len(modules)} {PACKAGE} modules, {mib(artifacts):.2f} MiB unzipped")
    return modules


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.splitlines()[3].strip())
    build(sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve())
