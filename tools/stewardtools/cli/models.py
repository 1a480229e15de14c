"""`steward models`: the model registry from a terminal (list, show, approve, reject, rollback, onboard).

Resource names come from the deployed stack's outputs (``--stack``, default ``$STEWARD_STACK`` or
``model-steward``); ``--endpoint-url`` (default ``$AWS_ENDPOINT_URL``) points at the local cloud.
Every decision is recorded in the audit trail as ``cli:<your OS user>``.

Exit codes: 0 done; 1 refused because the registry changed since you looked (re-run ``show``
and decide again); 2 bad input; 3 cloud error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from modelsteward.errors import ConflictError, InvalidInput
from stewardtools.cli._stack import stack_arguments, stack_context
from stewardtools.cli.main import EXIT_FINDINGS, EXIT_OK


def register(subparsers: Any) -> None:
    common = stack_arguments()

    parser = subparsers.add_parser(
        "models",
        help="list, inspect, approve, reject and roll back model versions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", parents=[common], help="registered models with champion and challenger")
    p.set_defaults(func=_list)

    p = sub.add_parser("show", parents=[common], help="a model's versions, or one version's full record")
    p.add_argument("model")
    p.add_argument("--version", type=int, help="show this version's registry row")
    p.set_defaults(func=_show)

    for name, helptext in (
        ("approve", "approve a version awaiting approval: it becomes the champion"),
        ("reject", "reject a version awaiting approval"),
    ):
        p = sub.add_parser(name, parents=[common], help=helptext)
        p.add_argument("model")
        p.add_argument("version", type=int)
        p.add_argument("--reason", required=True, help="why (recorded in the audit trail and the model card)")
        p.add_argument(
            "--expected-seq",
            type=int,
            default=None,
            help="decision_seq you reviewed (from `show`); refuse if the version changed since",
        )
        p.set_defaults(func=_approve if name == "approve" else _reject)

    p = sub.add_parser(
        "rollback", parents=[common], help="make the previous (or a named) version champion again"
    )
    p.add_argument("model")
    p.add_argument("--to", type=int, default=None, dest="to_version", help="version to restore")
    p.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    p.set_defaults(func=_rollback)

    p = sub.add_parser(
        "challenger", parents=[common], help="route a share of scoring traffic to a version (A/B)"
    )
    p.add_argument("model")
    p.add_argument("version", help="version number, or 'none' to end the test")
    p.add_argument("--share", type=float, default=0.1, help="traffic share 0..1 (default %(default)s)")
    p.add_argument("--reason", default="")
    p.set_defaults(func=_challenger)

    p = sub.add_parser("retrain", parents=[common], help="ask train_model to retrain a model now")
    p.add_argument("model")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=_retrain)

    p = sub.add_parser("onboard", parents=[common], help="validate a model spec and upload it")
    p.add_argument("spec", type=Path, help="path to the spec YAML (see docs/model-spec.md)")
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="a reference file of a model served elsewhere (features, its predictions and "
        "probabilities, the true outcome): checked against the spec before anything is uploaded",
    )
    p.add_argument(
        "--upload-reference",
        action="store_true",
        help="upload the checked --reference to reference/<model>/ (builds the baseline and the "
        "label-free estimator)",
    )
    p.set_defaults(func=_onboard)


# --- plumbing -------------------------------------------------------------------------------
def _context(args: argparse.Namespace) -> Any:
    return stack_context(args)


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _decide(args: argparse.Namespace, action: Any) -> int:
    try:
        result = action()
    except ConflictError as exc:
        print(f"steward: refused: {exc.message}", file=sys.stderr)
        return EXIT_FINDINGS
    _print(args, result, " ".join(f"{k}={v}" for k, v in result.items()))
    return EXIT_OK


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- commands -------------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    models = registry_ops.list_models(_context(args))
    rows = [["MODEL", "CHAMPION", "CHALLENGER", "SHARE", "VERSIONS", "LATEST", "LAST RETRAIN"]]
    for m in models:
        latest = f"v{m['latest_version']} {m['latest_status']}" if m["latest_version"] else "-"
        rows.append(
            [
                m["model"],
                _fmt(m["champion"]),
                _fmt(m["challenger"]),
                _fmt(m["traffic_share"]),
                str(m["versions"]),
                latest,
                _fmt(m["last_retrain_at"]),
            ]
        )
    _print(
        args, models, _table(rows) if models else "no models registered (steward models onboard SPEC.yaml)"
    )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    data = registry_ops.show(_context(args), args.model, args.version)
    if args.version is not None:
        _print(args, data, _version_text(data))
        return EXIT_OK
    state = data["state"]
    rows = [["VERSION", "STATUS", "ALIAS", "METRIC", "SCORE", "GATE", "SEQ", "CREATED"]]
    for row in data["versions"]:
        metric = row.get("primary_metric")
        score = (row.get("metrics") or {}).get(metric) if metric else None
        rows.append(
            [
                f"v{row.get('version')}",
                _fmt(row.get("status")),
                _fmt(row.get("alias")),
                _fmt(metric),
                _fmt(score),
                _fmt((row.get("gate") or {}).get("outcome")),
                _fmt(row.get("decision_seq")),
                _fmt(row.get("created_at")),
            ]
        )
    head = (
        f"{args.model}: champion {_fmt(state.get('champion'))}, challenger {_fmt(state.get('challenger'))} "
        f"(share {_fmt(state.get('traffic_share'))}), last retrain {_fmt(state.get('last_retrain_at'))}"
    )
    _print(args, data, head + "\n" + _table(rows))
    return EXIT_OK


def _version_text(row: dict[str, Any]) -> str:
    lines = [
        f"{row.get('model')} v{row.get('version')}: {row.get('status')}"
        + (f" ({row['alias']})" if row.get("alias") else "")
        + f", decision_seq {row.get('decision_seq')}"
    ]
    for key in (
        "created_at",
        "triggered_by",
        "reason",
        "estimator_class",
        "decided_by",
        "decided_at",
        "decision_reason",
        "evaluation_uri",
        "baseline_uri",
        "card_uri",
    ):
        if row.get(key) is not None:
            lines.append(f"  {key}: {row[key]}")
    art = row.get("artifact") or {}
    if art:
        lines.append(f"  artifact: {art.get('uri')} (sha256 {art.get('sha256')})")
    lines.append("  metrics:")
    lines += [f"    {k}: {_fmt(v)}" for k, v in (row.get("metrics") or {}).items() if not isinstance(v, dict)]
    gate = row.get("gate") or {}
    if gate:
        lines.append(f"  gate: {gate.get('outcome')}")
        lines += [f"    - {r}" for r in gate.get("reasons") or []]
    lines.append("  lineage:")
    lines += [f"    {ref.get('uri')} (version {ref.get('version_id')})" for ref in row.get("lineage") or []]
    return "\n".join(lines)


def _approve(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    ctx = _context(args)
    return _decide(
        args,
        lambda: registry_ops.approve(
            ctx, args.model, args.version, ctx.actor, args.reason, args.expected_seq
        ),
    )


def _reject(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    ctx = _context(args)
    return _decide(
        args,
        lambda: registry_ops.reject(ctx, args.model, args.version, ctx.actor, args.reason, args.expected_seq),
    )


def _rollback(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    ctx = _context(args)
    return _decide(
        args,
        lambda: registry_ops.rollback(ctx, args.model, args.to_version, actor=ctx.actor, reason=args.reason),
    )


def _challenger(args: argparse.Namespace) -> int:
    from stewardtools.operations import registry_ops

    version = None if str(args.version).lower() == "none" else _int(args.version)
    ctx = _context(args)
    return _decide(
        args,
        lambda: registry_ops.set_challenger(
            ctx, args.model, version, args.share, actor=ctx.actor, reason=args.reason
        ),
    )


def _retrain(args: argparse.Namespace) -> int:
    import datetime as dt

    ctx = _context(args)
    request = {
        "action": "retrain",
        "model": args.model,
        "trigger": "manual",
        "reason": args.reason,
        "episode": dt.datetime.now(dt.UTC).isoformat(),
    }
    if not ctx.settings.train_function_name:
        raise InvalidInput("the stack has no TrainModelFunctionName output; cannot request a retrain")
    ctx.record("retrain.requested", model=args.model, reason=args.reason, details={"trigger": "manual"})
    ctx.invoker.invoke_async(ctx.settings.train_function_name, request)
    _print(args, request, f"retrain of {args.model} requested ({ctx.settings.train_function_name})")
    return EXIT_OK


def _onboard(args: argparse.Namespace) -> int:
    from modelsteward import layout
    from modelsteward.domain.training import build_estimator
    from modelsteward.spec import parse_spec, read_spec_file

    body = read_spec_file(args.spec)
    spec = parse_spec(body)
    build_estimator(spec)  # a bad estimator class or parameter fails here, not at the first training
    reference = check_reference_file(args.reference, spec) if args.reference else None
    ctx = _context(args)
    ctx.settings.require("data_bucket")
    ref = ctx.store.put(
        ctx.settings.data_bucket, layout.spec_key(spec.name), body, content_type="application/yaml"
    )
    if ctx.registry is not None:
        ctx.registry.update_model_state(
            spec.name,
            {"onboarded_at": ctx.clock().isoformat(), "spec_uri": ref.uri, "spec_version_id": ref.version_id},
        )
    ctx.record(
        "spec.onboarded",
        model=spec.name,
        reason=f"spec uploaded from {args.spec.name}",
        outputs=[ref.as_dict()],
        details={"task": spec.task, "estimator": spec.estimator.class_path},
    )
    paths = onboarding_paths(spec, ctx.settings.data_bucket)
    data: dict[str, Any] = {"model": spec.name, "spec": ref.as_dict(), "paths": paths}
    lines = [f"onboarded {spec.name} ({spec.task}): {ref.uri}", "next, one of two paths:"]
    lines += [f"  {p['name']}: {p['how']}" for p in paths]
    if reference is not None:
        data["reference"] = reference
        lines += _reference_lines(args.reference, reference)
        if args.upload_reference:
            if reference["ok"]:
                uploaded = ctx.store.put(
                    ctx.settings.data_bucket,
                    f"reference/{spec.name}/{args.reference.name}",
                    args.reference.read_bytes(),
                )
                data["reference"]["uploaded"] = uploaded.as_dict()
                lines.append(f"reference uploaded: {uploaded.uri}")
            else:
                lines.append("reference NOT uploaded: fix the errors above first")
    _print(args, data, "\n".join(lines))
    return EXIT_OK if reference is None or reference["ok"] else EXIT_FINDINGS


def onboarding_paths(spec: Any, bucket: str) -> list[dict[str, str]]:
    """The two ways to bring a model under the suite, spelled for this spec."""
    cols = [spec.id_column, *([spec.timestamp_column] if spec.timestamp_column else []), *spec.features.all]
    outputs = [spec.prediction_column]
    if spec.is_classifier:
        outputs.append(spec.probability_column or "<set probability_column in the spec>")
    return [
        {
            "name": "train here",
            "how": f"upload labelled training data ({', '.join(spec.features.all)}, {spec.target}) to "
            f"s3://{bucket}/training/{spec.name}/; the suite trains, scores (scoring/{spec.name}/) and "
            "monitors the model",
        },
        {
            "name": "monitor a model served elsewhere",
            "how": f"upload a reference set ({', '.join(cols)}, {', '.join(outputs)}, {spec.target}) to "
            f"s3://{bucket}/reference/{spec.name}/ (check it first with --reference FILE), then inference "
            f"batches with the model's outputs to inference/{spec.name}/ (or SageMaker data-capture "
            f"files as they are) and labels ({spec.id_column}, {spec.target}; or SageMaker ground truth) "
            f"to labels/{spec.name}/",
        },
    ]


def check_reference_file(path: Path, spec: Any) -> dict[str, Any]:
    """Read and check a reference file against the spec, offline (nothing is uploaded)."""
    from modelsteward.domain.byom import check_reference
    from modelsteward.domain.contract import conform
    from modelsteward.domain.ingest import read_table
    from modelsteward.errors import BatchRejected

    try:
        body = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    try:
        conformed = conform(read_table(body, path.name), spec, role="reference")
    except BatchRejected as exc:
        return {"ok": False, "rows": None, "errors": [f"{exc.code}: {exc.message}"], "warnings": []}
    check = check_reference(conformed.table.to_pandas(), spec)
    findings = [f.message for f in conformed.findings]
    return {
        "ok": True,
        "rows": conformed.table.num_rows,
        "errors": [],
        "findings": findings,
        **check.as_dict(),
    }


def _reference_lines(path: Path, reference: dict[str, Any]) -> list[str]:
    lines = [f"reference {path.name}:"]
    if not reference["ok"]:
        return lines + [f"  ERROR {e}" for e in reference["errors"]]
    enabled = "yes" if reference["label_free_estimates"] else "NO"
    rows, labeled = reference["rows"], reference["rows_labeled"]
    lines.append(f"  {rows} rows, {labeled} labelled; label-free estimates: {enabled}")
    lines += [f"  WARNING {w}" for w in reference["warnings"]]
    lines += [f"  note {f}" for f in reference.get("findings", [])]
    return lines


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"'{value}' is not a version number") from exc


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
