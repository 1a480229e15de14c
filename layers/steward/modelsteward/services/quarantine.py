"""Quarantine: record why a batch was refused where a person looks, and leave the upload alone.

Writes ``quarantine/<model>/<batch_id>/reason.json`` (machine-readable) and ``reason.txt`` (what
went wrong, how to fix it) in the data bucket, emits ``BatchQuarantined`` and appends a
``batch.quarantined`` audit record. The uploaded object is never copied, moved or modified, and
reasons never quote data values (PII reasons list columns, kinds and counts only).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .. import layout, metric_names
from ..errors import StewardError
from ..events import S3Upload
from ..layout import UploadKey
from ..ports import ObjectRef
from .context import Context

log = logging.getLogger(__name__)

#: How to fix each rejection, by error code (docs/limits.md lists the ingest codes).
FIXES: dict[str, str] = {
    "unknown_model": "Register the model's spec at specs/<model>/spec.yaml in the data bucket "
    "(`steward models onboard`), then upload the file again.",
    "invalid_spec": "Fix the field named above in specs/<model>/spec.yaml (`steward models onboard` "
    "validates it), then upload the file again.",
    "baseline_missing": "No baseline yet: train the model (upload training/<model>/...) or upload a "
    "reference set to reference/<model>/..., then upload this batch again.",
    "missing_columns": "Add the missing columns (names are case-sensitive) and upload the file again.",
    "type_mismatch": "Make the named columns hold numbers (or ISO-8601 timestamps) and upload again.",
    "limit_exceeded": "Split the file into smaller uploads (see docs/limits.md) and upload them.",
    "pii_found": "Remove or mask the listed columns, or change the spec's pii policy (action "
    "redact/hash, or pii.allow_columns for columns that are not personal data), then upload again.",
    "quality_violation": "Fix the data problems listed above, or relax the spec's quality policy "
    "(quality.quarantine_on_violation: false reports them without quarantine), then upload again.",
    "bad_key": "Upload under <prefix>/<model>/<file>, e.g. inference/credit-default/2026-01-01.parquet.",
    "bad_model_name": "Use a model name of lowercase letters, digits and '-' in the key.",
}
DEFAULT_FIX = "Fix the file as described above and upload it again (a new upload is processed anew)."


def _reason_text(reason: Mapping[str, Any]) -> str:
    source = reason["key"] + (f" (version {reason['version_id']})" if reason.get("version_id") else "")
    lines = [
        f"Batch {source} for model '{reason['model']}' was quarantined at {reason['at']}.",
        "",
        "What went wrong:",
        f"  {reason['message']}",
    ]
    details = reason.get("details") or {}
    for item in details.get("violations", [])[:20]:
        lines.append(f"  - {item.get('message', item)}")
    for item in details.get("pii", {}).get("findings", [])[:20]:
        lines.append(f"  - column {item['column']}: {item['count']} value(s) look like {item['kind']}")
    lines += [
        "",
        "How to fix it:",
        f"  {FIXES.get(reason['code'], DEFAULT_FIX)}",
        "",
        f"Error code: {reason['code']}. The uploaded file was not changed, moved or copied.",
        "Machine-readable details: reason.json next to this file.",
        "",
    ]
    return "\n".join(lines)


# long: reason, metric and audit record of one rejection, written in that order
def quarantine_batch(
    ctx: Context,
    *,
    model: str,
    batch_id: str,
    source: ObjectRef,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    model_version: int | None = None,
    inputs: Sequence[ObjectRef] = (),
    function: str = "monitor_batch",
) -> dict[str, Any]:
    """Write the reason, emit the metric, append the audit record; returns the handler's summary."""
    bucket = ctx.settings.data_bucket or source.bucket
    prefix = layout.quarantine_prefix(model, batch_id)
    extra: dict[str, Any] = dict(details or {})
    reason: dict[str, Any] = {
        "code": code,
        "message": message,
        "key": source.key,
        "bucket": source.bucket,
        "version_id": source.version_id,
        "sha256": source.sha256,
        "model": model,
        "batch_id": batch_id,
        "function": function,
        "at": ctx.clock().isoformat(timespec="seconds"),
        "details": extra,
    }
    json_ref = ctx.store.put(
        bucket,
        prefix + "reason.json",
        json.dumps(reason, indent=2, sort_keys=True, default=str).encode(),
        content_type="application/json",
    )
    text_ref = ctx.store.put(
        bucket, prefix + "reason.txt", _reason_text(reason).encode(), content_type="text/plain; charset=utf-8"
    )
    ctx.metrics.put(metric_names.BATCH_QUARANTINED, 1, "Count", {"model": model})
    pii = extra.get("pii") or {}
    ctx.record(
        "batch.quarantined",
        model=model,
        model_version=model_version,
        reason=f"{code}: {message}",
        inputs=[source.as_dict(), *(r.as_dict() for r in inputs)],
        outputs=[json_ref.as_dict(), text_ref.as_dict()],
        details={
            "function": function,
            "batch_id": batch_id,
            "code": code,
            "pii_findings": sum(int(f.get("count", 0)) for f in pii.get("findings", [])),
        },
    )
    log.warning("batch quarantined", extra={"model": model, "batch_id": batch_id, "code": code})
    return {
        "status": "quarantined",
        "model": model,
        "batch_id": batch_id,
        "code": code,
        "reason": message,
        "reason_uri": json_ref.uri,
    }


def quarantine_upload(
    ctx: Context,
    upload: S3Upload,
    key: UploadKey,
    exc: StewardError,
    function: str,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`quarantine_batch` for the upload an S3 notification named."""
    return quarantine_batch(
        ctx,
        model=key.model,
        batch_id=key.batch_id,
        source=upload.object_ref(),
        code=exc.code,
        message=exc.message,
        details=details,
        function=function,
    )
