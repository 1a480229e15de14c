"""The import rules docs/architecture.md states, checked on the source (every import statement,
function-level ones included), so a shortcut fails here instead of in review or in Lambda."""

from __future__ import annotations

import ast
import graphlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "layers" / "steward"  # where the modelsteward package sits (the functions' builds copy from it)
PACKAGE = SITE / "modelsteward"  # the runtime: what the functions ship
TOOLS_SITE = REPO / "tools"
TOOLS = TOOLS_SITE / "stewardtools"  # the CLI, the local cloud, sample data: never in Lambda

_spec = importlib.util.spec_from_file_location("import_graph", REPO / "layers" / "deps" / "import_graph.py")
assert _spec and _spec.loader
import_graph = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = import_graph
_spec.loader.exec_module(import_graph)  # the scanner the function builds and make size use


def offenders(files: Iterable[Path], forbidden: tuple[str, ...], root: Path = SITE) -> dict[str, list[str]]:
    found = {}
    for path in files:
        modules = [module for module, _ in import_graph.imported(path, root)]
        bad = [m for m in modules if m.split(".")[0] in forbidden or m.startswith(forbidden)]
        if bad:
            found[str(path.relative_to(REPO))] = bad
    return found


def package_files(*exclude: str) -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in exclude]


def tool_files(*exclude: str) -> list[Path]:
    return [p for p in sorted(TOOLS.rglob("*.py")) if p.relative_to(TOOLS).parts[0] not in exclude]


def test_only_adapters_and_the_local_cloud_import_boto3() -> None:
    assert offenders(package_files("adapters"), ("boto3", "botocore")) == {}
    assert offenders(tool_files("adapters", "localcloud"), ("boto3", "botocore"), root=TOOLS_SITE) == {}
    handlers = sorted((REPO / "functions").rglob("*.py"))
    assert offenders(handlers, ("boto3", "botocore"), root=REPO / "functions") == {}


def test_the_domain_does_no_io_through_services_or_adapters() -> None:
    domain = sorted((PACKAGE / "domain").rglob("*.py"))
    assert offenders(domain, ("modelsteward.services", "modelsteward.adapters", "stewardtools")) == {}


def test_the_runtime_never_imports_the_tools() -> None:
    # the tools depend on the runtime, never the reverse: a function's build copies runtime modules only
    handlers = sorted((REPO / "functions").rglob("*.py"))
    assert offenders(package_files(), ("stewardtools", "moto")) == {}
    assert offenders(handlers, ("stewardtools", "moto"), root=REPO / "functions") == {}
    assert offenders(tool_files(), ("modelsteward",), root=TOOLS_SITE)  # ... while the tools use it


#: The composition root: the one module that builds adapters (services/context.py ``wire``).
COMPOSITION_ROOT = PACKAGE / "services" / "context.py"


def adapter_classes(folder: Path = PACKAGE / "adapters") -> set[str]:
    names = set()
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        names |= {n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")}
    return names


def constructions(files: Iterable[Path], classes: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            if name in classes:
                found.setdefault(str(path.relative_to(REPO)), []).append(f"{name} (line {node.lineno})")
    return found


def test_adapters_are_built_in_the_composition_root_only() -> None:
    classes = adapter_classes()
    assert {"S3ObjectStore", "StepFunctionsStarter", "CloudWatchAlarmLookup"} <= classes  # the scan sees them
    runtime = [p for p in package_files("adapters") if p != COMPOSITION_ROOT]
    handlers = sorted((REPO / "functions").rglob("*.py"))
    assert constructions(runtime + handlers, classes) == {}
    assert constructions([COMPOSITION_ROOT], classes)  # ... and the root does build them
    # the tools' own adapters (stack outputs, dead letters) have the tools' root
    tools_root = TOOLS / "operations" / "context.py"
    tool_classes = adapter_classes(TOOLS / "adapters")
    assert constructions([p for p in tool_files("adapters") if p != tools_root], tool_classes) == {}
    assert constructions([tools_root], tool_classes)


def test_the_scanner_sees_relative_and_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "modelsteward" / "domain" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from typing import TYPE_CHECKING\nfrom . import drift\n\nif TYPE_CHECKING:\n    import pandas\n\n"
        "def f():\n    from ..adapters import s3\n    import boto3\n"
    )
    assert list(import_graph.imported(module, tmp_path)) == [
        ("typing", ["TYPE_CHECKING"]),
        ("modelsteward.domain", ["drift"]),
        ("modelsteward.adapters", ["s3"]),
        ("boto3", []),
    ]  # pandas is only imported for type checkers: never at run time
    init = module.parent / "__init__.py"  # a package's __init__ shares its package with its modules
    init.write_text("from .drift import detect\nfrom . import probe\n")
    assert list(import_graph.imported(init, tmp_path)) == [
        ("modelsteward.domain.drift", ["detect"]),
        ("modelsteward.domain", ["probe"]),
    ]


def test_a_handler_reaches_its_imports_their_packages_and_what_those_packages_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .side import x\n")  # runs before sub.used
    (package / "sub" / "side.py").write_text("import json\nx = 1\n")
    (package / "sub" / "used.py").write_text("def late():\n    from ..deep import y\n")
    (package / "deep.py").write_text("y = 1\n")
    (package / "unused.py").write_text("")
    handler = tmp_path / "fn" / "app.py"
    handler.parent.mkdir()
    handler.write_text("import os\n\ndef handler():\n    from pkg.sub.used import late\n")
    ours, outside = import_graph.handler_closure(handler, tmp_path, "pkg")
    assert ours == ["pkg", "pkg.deep", "pkg.sub", "pkg.sub.side", "pkg.sub.used"]
    assert outside == ["json", "os"]


def handler_reach(handler: Path) -> list[str]:
    """The runtime's modules a handler can reach: what functions/Makefile copies into its deployment."""
    modules: list[str] = import_graph.handler_closure(handler, SITE, "modelsteward")[0]
    return modules


def test_every_runtime_module_is_reached_by_some_function() -> None:
    # the runtime holds only what the functions run; a module no handler reaches belongs to the tools
    reached = set().union(*(handler_reach(app) for app in sorted((REPO / "functions").glob("*/app.py"))))
    every = set(import_graph.package_modules(SITE, "modelsteward"))
    assert len(every) > 50  # the scan sees the package
    assert sorted(every - reached) == []


def test_the_runtime_package_holds_only_modules() -> None:
    # a function's build copies the modules its handler reaches and nothing else (no data files)
    others = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file()]
    others = [p for p in others if not p.endswith(".py") and "__pycache__" not in p]
    assert others == ["py.typed"]  # the typing marker: read by type checkers, never at run time


#: Modules of the runtime that import by name, and why that never names one of the runtime's own
#: modules (the function builds see import statements only: a module imported by name would be
#: missing from the deployment).
IMPORTS_BY_NAME = {
    "domain/training.py": "the spec's estimator class, which must be a scikit-learn one (checked)",
    "packed_deps.py": "importlib.invalidate_caches() only, after putting the unpacked packages on sys.path",
}


def imports_by_name(path: Path) -> list[int]:
    """Lines of ``path`` that call ``importlib``'s functions or ``__import__``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        if func == "__import__" or func.startswith("importlib."):
            lines.append(node.lineno)
    return lines


def test_the_runtime_imports_none_of_its_own_modules_by_name(tmp_path: Path) -> None:
    found = {
        p.relative_to(PACKAGE).as_posix(): lines for p in package_files() if (lines := imports_by_name(p))
    }
    assert sorted(found) == sorted(IMPORTS_BY_NAME)
    probe = tmp_path / "probe.py"
    probe.write_text("def render():\n    return __import__('modelsteward.reporting.batch')\n")
    assert imports_by_name(probe) == [2]


def module_graph(root: Path, package: Path) -> dict[str, set[str]]:
    """Each module of ``package`` -> the package's modules it imports (function-level imports too:
    a cycle hidden in a function is still two modules that cannot be understood apart)."""
    names = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for p in package.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for module, imported_names in import_graph.imported(path, root):
            found = [c for c in (module, *(f"{module}.{n}" for n in imported_names)) if c in names]
            # ``from . import drift`` depends on drift, not on the package's __init__
            targets |= {c for c in found if not any(m.startswith(c + ".") for m in found)}
        graph[name] = targets - {name}
    return graph


def first_cycle(graph: dict[str, set[str]]) -> list[str]:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_no_import_cycles_in_the_runtime_or_the_tools() -> None:
    assert first_cycle(module_graph(SITE, PACKAGE)) == []
    assert first_cycle(module_graph(TOOLS_SITE, TOOLS)) == []


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def late():\n    from .a import thing\n")
    (package / "c.py").write_text("from .a import b\n")
    cycle = first_cycle(module_graph(tmp_path, package))
    assert set(cycle) == {"pkg.a", "pkg.b"}
    (package / "b.py").write_text("def late():\n    return 1\n")
    assert first_cycle(module_graph(tmp_path, package)) == []


LONG_FUNCTION_LINES = 60
LONG_REASON = "# long:"  # on the def line or the line above it: why this one reads better whole


def long_functions_without_a_reason(files: Iterable[Path]) -> list[str]:
    """Functions over LONG_FUNCTION_LINES lines (decorators and docstring included) with no reason."""
    found = []
    for path in files:
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            assert node.end_lineno is not None
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if node.end_lineno - start + 1 <= LONG_FUNCTION_LINES:
                continue
            near = lines[max(start - 2, 0) : node.lineno]
            if not any(LONG_REASON in line for line in near):
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                found.append(f"{where}:{node.lineno} {node.name} ({node.end_lineno - start + 1} lines)")
    return found


def lambda_files() -> list[Path]:
    return package_files() + sorted((REPO / "functions").glob("*/app.py"))


def test_no_function_that_runs_in_lambda_is_over_60_lines_without_a_reason() -> None:
    assert long_functions_without_a_reason(lambda_files()) == []


def test_a_long_function_needs_its_reason(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LONG_FUNCTION_LINES))
    module = tmp_path / "m.py"
    module.write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}")
    assert [f.split(" ")[1] for f in long_functions_without_a_reason([module])] == ["long"]
    module.write_text(f"# long: one table, row by row\ndef long():\n{body}")
    assert long_functions_without_a_reason([module]) == []


def guarded_own_imports(files: Iterable[Path]) -> list[str]:
    """``try: import <our module> except ImportError`` sites: our modules are always installed, so a
    guard only hides a broken import (a missing module must fail loudly)."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Try):
                continue
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not caught & {"ImportError", "ModuleNotFoundError"}:
                continue
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and (
                    stmt.level or (stmt.module or "").split(".")[0] in ("modelsteward", "stewardtools")
                ):
                    found.append(f"{path.relative_to(REPO)}:{stmt.lineno}")
    return found


def test_the_suites_own_modules_are_never_imported_under_an_import_error_guard() -> None:
    assert guarded_own_imports(package_files() + tool_files()) == []
