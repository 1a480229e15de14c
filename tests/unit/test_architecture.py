"""The import rules docs/architecture.md states, checked on the source (every import statement,
function-level ones included), so a shortcut fails here instead of in review or in Lambda."""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "layers" / "steward"  # where the modelsteward package sits, as in StewardLayer
PACKAGE = SITE / "modelsteward"  # the runtime: what the functions ship
TOOLS_SITE = REPO / "tools"
TOOLS = TOOLS_SITE / "stewardtools"  # the CLI, the local cloud, sample data: never in Lambda

_spec = importlib.util.spec_from_file_location("import_graph", REPO / "bench" / "import_graph.py")
assert _spec and _spec.loader
import_graph = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = import_graph
_spec.loader.exec_module(import_graph)  # the scanner make size uses on deployments


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
    # the tools depend on the runtime, never the reverse: StewardLayer copies the runtime as it is
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
