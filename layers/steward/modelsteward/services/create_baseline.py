"""create_baseline: a reference upload (bring your own model) -> baseline + SageMaker statistics/constraints.

``reference/<model>/<file>`` is read, conformed (role reference), PII-screened, and turned into a
baseline written under ``layout.reference_baseline_prefix(model)`` in the artifacts bucket, where
monitor_batch finds it when the model has no champion. A newer reference upload replaces it (the
bucket is versioned, so every earlier baseline stays addressable by version id). train_model calls
:func:`write_baseline` for each model version (``layout.baseline_prefix(model, version)``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from .. import layout
from ..domain.baseline import Baseline
from ..domain.baseline_builder import build_baseline
from ..domain.sagemaker import constraints_json, statistics_json
from ..errors import InvalidInput, NotFound
from ..events import S3Upload
from ..idempotency import run_once
from ..ports import ObjectRef
from ..spec import DriftPolicy
from .assessment import PiiRejected
from .context import Context
from .monitor_batch import read_upload
from .quarantine import quarantine_batch
from .specs import load_spec

log = logging.getLogger(__name__)

FUNCTION = "create_baseline"


def write_baseline(
    ctx: Context, model: str, baseline: Baseline, prefix: str, *, policy: DriftPolicy | None = None
) -> dict[str, ObjectRef]:
    """Write baseline.json, statistics.json and constraints.json under ``prefix`` (artifacts bucket)."""
    bucket = ctx.settings.artifacts_bucket
    if baseline.model != model:
        raise ValueError(f"baseline of model '{baseline.model}' cannot be written for '{model}'")
    docs = {
        "statistics": json.dumps(statistics_json(baseline), indent=2).encode(),
        "constraints": json.dumps(constraints_json(baseline, policy), indent=2).encode(),
    }
    out = {
        name: ctx.store.put(bucket, f"{prefix}{name}.json", body, content_type="application/json")
        for name, body in docs.items()
    }
    # baseline.json last: it is what monitor_batch reads, so it never points at missing siblings
    out["baseline"] = ctx.store.put(
        bucket, prefix + "baseline.json", baseline.to_json().encode(), content_type="application/json"
    )
    return out


def create_baseline(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    """Build the model's reference baseline from one upload, exactly once per object version."""
    return run_once(FUNCTION, upload.idempotency_key(), lambda: _create(ctx, upload))


# long: one upload to one baseline: read, conform, build, write, record, each failure quarantined
def _create(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    source = ObjectRef(upload.bucket, upload.key, upload.version_id, None, upload.size)
    try:
        key = layout.parse_upload_key(upload.key, url_encoded=False)
    except InvalidInput as exc:
        digest = hashlib.sha256(upload.key.encode()).hexdigest()[:12]
        return quarantine_batch(
            ctx,
            model="_unrouted",
            batch_id=digest,
            source=source,
            code=exc.code,
            message=exc.message,
            function=FUNCTION,
        )
    model, batch_id = key.model, key.batch_id
    spec_ref: ObjectRef | None = None
    try:
        if key.prefix != "reference":
            raise InvalidInput(
                f"create_baseline handles reference/ uploads, not {key.prefix}/", code="bad_key"
            )
        spec, spec_ref = load_spec(ctx, model)
        try:
            prepared, _ = read_upload(ctx, upload, spec, role="reference", filename=key.name)
        except NotFound:  # deleted before we got to it: nothing to build from
            log.warning("reference upload vanished", extra={"model": model})
            return {"status": "gone", "model": model}
        source = prepared.source
        baseline = build_baseline(
            prepared.table,
            spec,
            sources=[source.as_dict()],
            seed=spec.seed,
            created_at=ctx.clock().isoformat(timespec="seconds"),
        )
    except InvalidInput as exc:
        source = getattr(exc, "source", source)
        details = {"pii": exc.summary.model_dump()} if isinstance(exc, PiiRejected) else {}
        return quarantine_batch(
            ctx,
            model=model,
            batch_id=batch_id,
            source=source,
            code=exc.code,
            message=exc.message,
            details=details,
            inputs=[r for r in (spec_ref,) if r is not None],
            function=FUNCTION,
        )
    written = write_baseline(ctx, model, baseline, layout.reference_baseline_prefix(model), policy=spec.drift)
    from .byom import fit_reference  # the label-free estimator and the score realized metrics compare to

    quality = fit_reference(ctx, spec, prepared.table, source)
    for warning in quality["warnings"]:
        log.warning("reference lacks model-quality inputs", extra={"model": model, "warning": warning})
    if prepared.pii.findings:
        ctx.record(
            "pii.finding",
            model=model,
            reason=f"PII in reference data; action {prepared.pii.action}",
            inputs=[source.as_dict()],
            details={
                "function": FUNCTION,
                "action": prepared.pii.action,
                "findings": [
                    {"column": f.column, "kind": f.kind, "count": f.count} for f in prepared.pii.findings
                ],
            },
        )
    ctx.record(
        "baseline.created",
        model=model,
        reason=f"reference baseline from {key.name}",
        inputs=[source.as_dict(), spec_ref.as_dict()],
        outputs=[
            *(r.as_dict() for r in written.values()),
            *(quality[k] for k in ("metrics", "estimation") if k in quality),
        ],
        details={
            "function": FUNCTION,
            "rows": baseline.rows,
            "columns": list(baseline.columns),
            "contract_findings": len(prepared.findings),
            "label_free_estimates": quality["label_free_estimates"],
            "warnings": quality["warnings"],
        },
    )
    log.info("baseline created", extra={"model": model, "rows": baseline.rows})
    return {
        "status": "created",
        "model": model,
        "rows": baseline.rows,
        "columns": len(baseline.columns),
        "baseline_uri": written["baseline"].uri,
        "baseline_version_id": written["baseline"].version_id,
        "label_free_estimates": quality["label_free_estimates"],
        "reference_score": quality.get("reference_score"),
        "warnings": quality["warnings"],
    }
