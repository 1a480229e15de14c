"""`steward backfill`: window results for a past range, from the stored batch profiles.

    steward backfill MODEL --since 2026-01-01 --until 2026-02-01 [--window day] [--stack NAME]

Runs the hourly window check (merged profiles, drift, volume) on every window of the range, writes
each window's report.json / report.html under reports/<model>/windows/, records window.checked, and
prints one line per window as it goes. No metric and no email (a backfill is read, not alarmed on).

Exit codes: 0 no window drifted or had findings; 1 some did; 2 bad input; 3 cloud error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stewardtools.cli._stack import stack_arguments, stack_context
from stewardtools.cli.main import EXIT_FINDINGS, EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill",
        help="recompute window drift/volume results for a past range from stored profiles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[stack_arguments(json_flag=False)],
    )
    parser.add_argument("model")
    parser.add_argument("--since", required=True, help="ISO date or time (UTC when no offset), inclusive")
    parser.add_argument("--until", required=True, help="ISO date or time, exclusive")
    parser.add_argument(
        "--window",
        choices=["hour", "day", "week"],
        default=None,
        help="window length (default: the model spec's window)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per window")
    parser.set_defaults(func=run)


def _context(args: argparse.Namespace) -> Any:
    return stack_context(args)


def progress_line(index: int, total: int, start: str, result: dict[str, Any]) -> str:
    share = result.get("drifted_feature_share")
    share_text = "-" if share is None else f"{share:.2f}"
    findings = ",".join(result.get("findings") or []) or "-"
    width = len(str(total))
    batches, rows, verdict = result.get("batches", 0), result.get("rows", 0), result.get("verdict", "?")
    return (
        f"[{index:>{width}}/{total}] {start:<13} batches {batches:>4}  rows {rows:>8}  verdict {verdict:<8}"
        f" share {share_text:>5}  findings {findings}"
    )


def run(args: argparse.Namespace) -> int:
    from modelsteward.domain.window import parse_moment
    from stewardtools.operations.backfill import backfill

    since, until = parse_moment(args.since, "--since"), parse_moment(args.until, "--until")
    ctx = _context(args)
    flagged = 0

    def show(index: int, total: int, window: Any, result: dict[str, Any]) -> None:
        nonlocal flagged
        noteworthy = set(result.get("findings") or []) - {"no_batches"}
        flagged += result.get("verdict") == "drift" or bool(noteworthy)
        if args.json:
            print(json.dumps(result, default=str))
        else:
            print(progress_line(index, total, window.label, result))
        sys.stdout.flush()

    results = backfill(ctx, args.model, since=since, until=until, window=args.window, progress=show)
    if not args.json:
        drifted = sum(r.get("verdict") == "drift" for r in results)
        print(
            f"{len(results)} windows checked: {drifted} drifted, {flagged} with drift or findings; "
            f"reports under reports/{args.model}/windows/"
        )
    return EXIT_FINDINGS if flagged else EXIT_OK
