"""monitor_batch's hand-over of a batch too large for one run to the scale-out state machine.

The run payload pins what every chunk must agree on: the exact object version of the upload, of
the spec and of the baseline the batch was accepted against. A spec edit or a retrain while the
Distributed Map runs never mixes two baselines in one verdict (services/scale_out.py reads them
back from the payload).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..events import S3Upload
from ..layout import UploadKey
from ..ports import ObjectRef
from .context import Context

log = logging.getLogger(__name__)


def execution_name(upload: S3Upload) -> str:
    """One execution per object version: Step Functions returns the running one for a repeated name."""
    key = json.dumps(upload.idempotency_key(), sort_keys=True, default=str)
    return "mb-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def start_large_batch(
    ctx: Context,
    upload: S3Upload,
    key: UploadKey,
    *,
    spec_ref: ObjectRef,
    baseline_ref: ObjectRef,
    model_version: int | None,
) -> dict[str, Any]:
    name = execution_name(upload)
    run = {
        "bucket": upload.bucket,
        "key": upload.key,
        "version_id": upload.version_id,
        "size": upload.size,
        "etag": upload.etag,
        "model": key.model,
        "batch_id": key.batch_id,
        "filename": key.name,
        "execution_name": name,
        "spec": pinned(spec_ref),
        "baseline": pinned(baseline_ref),
        "model_version": model_version,
    }
    if ctx.executions is None:
        raise ConfigError("scale-out needs SCALE_OUT_STATE_MACHINE_ARN (no Step Functions starter wired)")
    arn = ctx.executions.start(ctx.settings.scale_out_state_machine_arn, name, {"run": run})
    ctx.record(
        "batch.scaled_out",
        model=key.model,
        reason=f"{upload.size} bytes > SCALE_OUT_BYTES ({ctx.settings.scale_out_bytes}): chunked run",
        inputs=[upload.object_ref().as_dict()],
        details={"function": "monitor_batch", "batch_id": key.batch_id, "execution_arn": arn},
    )
    log.info("batch scaled out", extra={"model": key.model, "batch_id": key.batch_id, "execution": arn})
    return {"status": "scaled_out", "model": key.model, "batch_id": key.batch_id, "execution_arn": arn}


def pinned(ref: ObjectRef) -> dict[str, Any]:
    return {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id}


def pinned_ref(run: Mapping[str, Any], name: str) -> ObjectRef | None:
    """The object version a run pinned (None for a run started before pins existed)."""
    value = run.get(name)
    if not isinstance(value, Mapping) or not value.get("key"):
        return None
    return ObjectRef(str(value["bucket"]), str(value["key"]), value.get("version_id"))
