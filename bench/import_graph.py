"""What Python modules import, read from their source: every import statement, function-level ones
included (a smoke run only executes some paths), ``if TYPE_CHECKING:`` blocks skipped (never run).

Used by bench/lambda_smoke.py (all a deployed function can reach) and
tests/unit/test_architecture.py (the import rules). Standard library only: it runs inside a bare
``python3.12 -S`` deployment too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def _statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _statements(node)


def imported(path: Path, root: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names taken from it) per import; relative imports resolved for ``path`` below ``root``."""
    parts = path.relative_to(root).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts
    for node in _statements(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        else:
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module, [alias.name for alias in node.names]


def source_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def closure(module: str, root: Path) -> tuple[list[str], list[str]]:
    """The modules of ``module``'s own package it can reach, and the outside modules they import."""
    top = module.split(".")[0]
    ours: set[str] = set()
    outside: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = source_file(root, name)
        if name in ours or path is None:  # not a module (a name imported from one), or seen
            continue
        ours.add(name)
        for target, names in imported(path, root):
            if target.split(".")[0] == top:
                todo += [target, *(f"{target}.{n}" for n in names)]
            else:
                outside.add(target)
    return sorted(ours), sorted(outside)
