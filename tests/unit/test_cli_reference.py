"""docs/cli.md is what the commands print: regenerate it with `make docs-cli` after changing one."""

from __future__ import annotations

from pathlib import Path

from cli_reference import render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_cli_reference_matches_the_commands() -> None:
    assert PAGE.read_text() == render(), "docs/cli.md is stale: run `make docs-cli`"
