"""docs/cli.md, rendered from the real argparse parsers (`make docs-cli` writes it;
tests/unit/test_cli_reference.py fails when the page and the commands disagree).

    python tests/support/cli_reference.py > docs/cli.md
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from unittest import mock

PREAMBLE = """# `steward` command reference

Generated from the real `--help` output of `steward {version}` by `make docs-cli`
(`tests/support/cli_reference.py`; each module of `tools/stewardtools/cli/` with a
`register(subparsers)` function is a command). All `--help` pages work offline.

Commands that talk to a stack find its resources through the stack's outputs: `--stack`
(default `$STEWARD_STACK`, else `model-steward`). `--endpoint-url` (default `$AWS_ENDPOINT_URL`)
points them at the local cloud (`steward local up`). `samconfig.toml` deploys stacks named
`model-steward-dev` and `model-steward-prod`, so set `STEWARD_STACK` or pass `--stack` for those.

## Exit codes

| code | meaning (`stewardtools/cli/main.py`) |
|---|---|
| 0 | success |
{exit_1}
| 2 | bad input: argparse usage errors, and any `InvalidInput` (bad spec, missing file, unknown version) |
| 3 | cloud or infrastructure error: any other suite error (`StorageError`, `NotFound`, `ConfigError`, ...) |
| 130 | interrupted (Ctrl-C) |
"""


EXIT_1 = (
    "| 1 | the command ran and found a problem: drift or quality violations (`check`), a chain that does "
    "not verify (`audit verify`), a drifted window (`backfill`), a message that failed again (`replay`), "
    "a registry decision refused because the registry changed (`models approve/reject/rollback/challenger`) |"
)


def _commands(
    parser: argparse.ArgumentParser, depth: int = 0
) -> Iterator[tuple[int, argparse.ArgumentParser]]:
    yield depth, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases point at the same parser
                yield from _commands(sub, depth + 1)


def render() -> str:
    """The page, independent of the caller's terminal width and environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("STEWARD_STACK", "AWS_ENDPOINT_URL")}
    with mock.patch.dict(os.environ, {**env, "COLUMNS": "100"}, clear=True):
        from modelsteward import __version__
        from stewardtools.cli.main import build_parser

        commands = list(_commands(build_parser()))
        pages = [(depth, parser.prog, parser.format_help()) for depth, parser in commands]
    lines = [PREAMBLE.format(version=__version__, exit_1=EXIT_1), "## Contents", ""]
    lines += [f"- [`{prog}`](#{prog.replace(' ', '-')})" for _, prog, _ in pages]
    for depth, prog, text in pages:
        lines += ["", f"{'##' if depth <= 1 else '###'} `{prog}`", "", "```text", text.rstrip(), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
