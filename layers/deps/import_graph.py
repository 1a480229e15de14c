"""What Python modules import, read from their source: every import statement, function-level ones
included (a smoke run only executes some paths), ``if TYPE_CHECKING:`` blocks skipped (never run).

Used by build_function.py (which of the runtime's modules a function's deployment holds),
bench/lambda_smoke.py (all a deployed function can reach) and tests/unit/test_architecture.py (the
import rules). Standard library only: it runs inside a bare ``python3.12 -S`` deployment and in
the ``python3`` that ``sam build`` runs the Makefiles with.

It sees import statements only. The runtime imports none of its own modules by name
(``importlib``, ``__import__``, module paths in strings): tests/unit/test_architecture.py keeps it
so, and ``make size`` imports every reachable module and runs each function's real work from its
deployment, so a module the scan missed fails there.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path


def _statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _statements(node)


@functools.lru_cache(maxsize=4096)
def _imports(source: str) -> tuple[tuple[int, str | None, tuple[str, ...]], ...]:
    """(level, module, names) per import statement; level -1 for ``import a.b``. Keyed on the text:
    the closures of eleven handlers read most modules eleven times."""
    found: list[tuple[int, str | None, tuple[str, ...]]] = []
    for node in _statements(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(-1, alias.name, ()) for alias in node.names]
        else:
            found.append((node.level, node.module, tuple(alias.name for alias in node.names)))
    return tuple(found)


def imported(path: Path, root: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names taken from it) per import; relative imports resolved for ``path`` below ``root``."""
    # a package's __init__ and its modules share a __package__: `from . import x` means a sibling
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for level, module, names in _imports(path.read_text()):
        if level < 0:
            yield str(module), []
            continue
        base = list(package[: len(package) - level + 1]) if level else []
        yield ".".join([*base, *([module] if module else [])]), list(names)


def source_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def _reach(starts: Iterable[str], root: Path, top: str) -> tuple[set[str], set[str]]:
    """Modules of package ``top`` reachable from ``starts``, each with its parent packages (Python
    runs their ``__init__`` first, and what they import), and the outside modules they import."""
    ours: set[str] = set()
    outside: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        path = source_file(root, name)
        if name in ours or path is None:  # not a module (a name imported from one), or seen
            continue
        ours.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        for target, names in imported(path, root):
            if target.split(".")[0] == top:
                todo += [target, *(f"{target}.{n}" for n in names)]
            else:
                outside.add(target)
    return ours, outside


def closure(module: str, root: Path) -> tuple[list[str], list[str]]:
    """The modules of ``module``'s own package it can reach, and the outside modules they import."""
    ours, outside = _reach([module], root, module.split(".")[0])
    return sorted(ours), sorted(outside)


def handler_closure(handler: Path, root: Path, package: str) -> tuple[list[str], list[str]]:
    """What a handler file (``functions/<name>/app.py``) can reach of ``package`` below ``root``:
    the modules its deployment must hold, and the outside modules its code imports."""
    starts, outside = [], set()
    for target, names in imported(handler, handler.parent):
        if target.split(".")[0] == package:
            starts += [target, *(f"{target}.{n}" for n in names)]
        else:
            outside.add(target)
    ours, theirs = _reach(starts, root, package)
    return sorted(ours), sorted(outside | theirs)


def package_modules(root: Path, package: str) -> list[str]:
    """Every module of ``package`` below ``root`` (a source tree or a built deployment)."""
    return sorted(
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for p in (root / package).rglob("*.py")
    )
