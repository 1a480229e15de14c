"""The import rules docs/architecture.md states, checked on the source (every import statement,
function-level ones included), so a shortcut fails here instead of in review or in Lambda."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "layers" / "steward" / "modelsteward"


def imported(path: Path, root: Path = PACKAGE.parent) -> Iterator[str]:
    """Absolute names of what a file imports (relative imports resolved against ``root``)."""
    parts = path.relative_to(root).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            yield ".".join([*base, *([node.module] if node.module else [])])


def offenders(
    files: Iterator[Path], forbidden: tuple[str, ...], root: Path = PACKAGE.parent
) -> dict[str, list[str]]:
    found = {}
    for path in files:
        bad = [
            name
            for name in imported(path, root)
            if name.split(".")[0] in forbidden or name.startswith(forbidden)
        ]
        if bad:
            found[str(path.relative_to(REPO))] = bad
    return found


def package_files(*exclude: str) -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] not in exclude:
            yield path


def test_only_adapters_and_the_local_cloud_import_boto3() -> None:
    assert offenders(package_files("adapters", "localcloud"), ("boto3", "botocore")) == {}
    handlers = iter(sorted((REPO / "functions").rglob("*.py")))
    assert offenders(handlers, ("boto3", "botocore"), root=REPO / "functions") == {}


def test_the_domain_does_no_io_through_services_or_adapters() -> None:
    domain = iter(sorted((PACKAGE / "domain").rglob("*.py")))
    assert (
        offenders(domain, ("modelsteward.services", "modelsteward.adapters", "modelsteward.localcloud")) == {}
    )


def test_nothing_lambda_runs_needs_the_local_cloud() -> None:
    # StewardLayer leaves localcloud out (layers/deps/build_layer.py); only the CLI may use it
    assert offenders(package_files("localcloud", "cli"), ("modelsteward.localcloud",)) == {}


def test_the_checks_see_relative_and_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "modelsteward" / "domain" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text("from . import drift\n\ndef f():\n    from ..adapters import s3\n    import boto3\n")
    assert list(imported(module, root=tmp_path)) == ["modelsteward.domain", "modelsteward.adapters", "boto3"]
