"""`steward audit`: verify the tamper-evident audit trail, champion history, and lineage.

    steward audit verify                       chain + locked export; exit 1 names the first bad record
    steward audit history MODEL [--at ISO]     which version was champion when, who approved it, evidence
    steward audit lineage --model M --version N    the exact inputs of a model version
    steward audit lineage --batch S3URI [--version-id V]   everything built from a batch
    steward audit lineage --report S3URI       the inputs and baseline behind a report

Resource names come from the deployed stack's outputs (``--stack``, default ``$STEWARD_STACK`` or
``model-steward``); ``--endpoint-url`` (default ``$AWS_ENDPOINT_URL``) points at the local cloud.

Exit codes: 0 ok; 1 the chain does not verify; 2 bad input; 3 cloud error.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from modelsteward.errors import InvalidInput, NotFound
from stewardtools.cli._stack import stack_arguments, stack_context
from stewardtools.cli.main import EXIT_FINDINGS, EXIT_OK


def register(subparsers: Any) -> None:
    common = stack_arguments()

    parser = subparsers.add_parser(
        "audit",
        help="verify the audit trail; champion history; lineage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    p = sub.add_parser("verify", parents=[common], help="verify the hash chain and its Object Lock export")
    p.set_defaults(func=_verify)

    p = sub.add_parser("history", parents=[common], help="champion periods of a model (who, when, evidence)")
    p.add_argument("model")
    p.add_argument("--at", default=None, help="ISO 8601 time: show only the champion at that moment")
    p.set_defaults(func=_history)

    p = sub.add_parser("lineage", parents=[common], help="inputs of a version or report; uses of a batch")
    p.add_argument("--model")
    p.add_argument("--version", type=int)
    p.add_argument("--batch", help="s3://bucket/key of an uploaded batch: everything built from it")
    p.add_argument("--version-id", default=None, help="object version of --batch / --report")
    p.add_argument("--report", help="s3://bucket/key of a report.json: its inputs and baseline")
    p.set_defaults(func=_lineage)


def _context(args: argparse.Namespace) -> Any:
    return stack_context(args)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _verify(args: argparse.Namespace) -> int:
    from modelsteward.services.audit_trail import verify

    report = verify(_context(args))
    if report.ok:
        text = f"audit trail OK: {report.message}"
    else:
        text = (
            f"audit trail BROKEN: first bad record seq {report.first_bad_seq} ({report.kind})\n"
            f"  {report.message}"
        )
    _emit(args, report.model_dump(mode="json"), text)
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _history(args: argparse.Namespace) -> int:
    from modelsteward.services.audit_trail import champion_at, history

    ctx = _context(args)
    if args.at:
        try:
            period = champion_at(ctx, args.model, args.at)
        except ValueError as exc:
            raise InvalidInput(f"--at '{args.at}' is not an ISO 8601 time") from exc
        periods = [period] if period else []
        if not periods:
            _emit(args, [], f"{args.model} had no champion at {args.at}")
            return EXIT_OK
    else:
        periods = history(ctx, args.model)
        if not periods:
            _emit(args, [], f"{args.model} has never had a champion")
            return EXIT_OK
    lines = []
    for p in periods:
        end = p.end or "now"
        lines.append(f"v{p.version}  {p.start} -> {end}  ({p.became_champion_by} by {p.promoted_by})")
        if p.reason:
            lines.append(f"    reason:     {p.reason}")
        approved_at = f" at {p.approved_at}" if p.approved_at else ""
        lines.append(f"    approved:   {p.approved_by or '-'}{approved_at}")
        ev = p.evidence
        outcome = ev.gate_details.get("outcome") or ev.gate_details.get("decision")
        if ev.gate_seq is not None:
            lines.append(f"    gate:       {outcome or 'recorded'} (audit seq {ev.gate_seq})")
        if ev.evaluation_uri:
            version = f" (version {ev.evaluation_version_id})" if ev.evaluation_version_id else ""
            lines.append(f"    evaluation: {ev.evaluation_uri}{version}")
    _emit(args, [p.model_dump(mode="json") for p in periods], "\n".join(lines))
    return EXIT_OK


def _lineage(args: argparse.Namespace) -> int:
    try:
        return _lineage_of(args)
    except NotFound as exc:  # an unknown version or object is bad input here, not a cloud failure
        raise InvalidInput(exc.message, code="not_found") from exc


def _lineage_of(args: argparse.Namespace) -> int:
    from modelsteward.services import lineage

    chosen = [bool(args.batch), bool(args.report), args.model is not None or args.version is not None]
    if sum(chosen) != 1:
        raise InvalidInput("give exactly one of --model M --version N, --batch S3URI or --report S3URI")
    ctx = _context(args)
    if args.batch:
        uses = lineage.forward_from_batch(ctx, args.batch, args.version_id)
        lines = [
            f"{len(uses)} record(s) used {args.batch}"
            + (f" (version {args.version_id})" if args.version_id else "")
        ]
        for u in uses:
            who = f" {u.model}" if u.model else ""
            who += f" v{u.model_version}" if u.model and u.model_version is not None else ""
            lines.append(f"  seq {u.seq} {u.at} {u.action}{who} (depth {u.depth})")
            lines += [f"      -> {o.uri}" + (f" ({o.version_id})" if o.version_id else "") for o in u.outputs]
        _emit(args, [u.model_dump(mode="json") for u in uses], "\n".join(lines))
        return EXIT_OK
    if args.report:
        rep = lineage.lineage_of_report(ctx, args.report, args.version_id)
        lines = [f"{rep.report_uri} ({rep.model or '?'} v{rep.model_version if rep.model_version else '?'})"]
        if rep.baseline:
            lines.append(f"  baseline: {rep.baseline.uri} ({rep.baseline.version_id or 'no version'})")
        lines += [f"  input: {e.uri} ({e.version_id or 'no version'}) [{e.role}]" for e in rep.inputs]
        _emit(args, rep.model_dump(mode="json"), "\n".join(lines))
        return EXIT_OK
    if args.model is None or args.version is None:
        raise InvalidInput("--model and --version go together")
    lin = lineage.lineage_of_version(ctx, args.model, args.version)
    lines = [f"{lin.model} v{lin.version}"]
    lines += [
        f"  input:  {e.uri} ({e.version_id or 'no version'}) sha256={e.sha256 or '?'} [{e.role}]"
        for e in lin.inputs
    ]
    lines += [f"  output: {e.uri} ({e.version_id or 'no version'}) [{e.role}]" for e in lin.outputs]
    _emit(args, lin.model_dump(mode="json"), "\n".join(lines))
    return EXIT_OK
