"""Scale-out: a batch too large for one monitor_batch run, on a Step Functions Distributed Map.

monitor_batch starts the state machine (template.yaml ``LargeBatchStateMachine``) with the upload:
``plan_chunks`` splits it (domain.chunking) and writes the items; the Distributed Map runs
``profile_chunk`` per item (read its range, read_table + conform + PII screening + profile + a
seeded sample, written to the artifacts bucket); ``finish_large_batch`` merges the chunk profiles
and runs exactly the steps a small batch runs after profiling (monitor_batch.assess_profile and
publish_batch). Any failed step ends in ``fail_large_batch``: a quarantine reason and an audit
record, never a verdict from partial data. docs/scale-out.md has the costs and limits.

Bad input found by any chunk (unreadable rows, PII under a quarantine policy, a missing column) is
recorded in that chunk's result, not raised: retrying cannot fix it, and finish_large_batch
quarantines the whole batch with that chunk's reason, as monitor_batch would.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from .. import layout
from ..domain.baseline import Baseline
from ..domain.chunking import (
    Chunk,
    ChunkPlan,
    ChunkSample,
    chunk_payload,
    chunk_sample,
    merge_findings,
    merge_pii,
    merge_samples,
    plan_chunks,
)
from ..domain.profile import Profile, merge_profiles, profile_batch
from ..domain.report import PiiSummary
from ..errors import BatchRejected, ConflictError, InvalidInput, NotFound, StorageError
from ..idempotency import run_once
from ..ports import ObjectRef
from .assessment import PiiRejected, _seed, assess_profile, check_quality, conform_and_screen
from .context import Context
from .handover import pinned_ref
from .monitor_batch import AssessedBatch, load_baseline, publish_batch, refuse_batch
from .quarantine import quarantine_batch
from .specs import load_spec

log = logging.getLogger(__name__)

FINISH_FUNCTION = "finish_large_batch"
FAILED_CODE = "scale_out_failed"


# --- plan_chunks ----------------------------------------------------------------------------
def _prefix(run: Mapping[str, Any]) -> str:
    return layout.batch_chunks_prefix(str(run["model"]), str(run["batch_id"]))


def _reader(ctx: Context, run: Mapping[str, Any]) -> Callable[[int, int], bytes]:
    bucket, key, version = str(run["bucket"]), str(run["key"]), run.get("version_id")
    return lambda start, end: ctx.store.get_range(bucket, key, version, start, end)


def plan_large_batch(ctx: Context, run: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``plan.json`` and ``items.json`` (the Map's ItemReader input); a refusal is recorded in
    the plan (no items) for finish_large_batch to quarantine."""
    bucket = ctx.settings.artifacts_bucket
    prefix = _prefix(run)
    size = int(run.get("size") or ctx.store.head(run["bucket"], run["key"], run.get("version_id")).size or 0)
    doc: dict[str, Any] = {"run": dict(run)}
    items: list[dict[str, Any]] = []
    try:
        plan = plan_chunks(
            _reader(ctx, run), size, str(run["filename"]), target_bytes=ctx.settings.scale_out_chunk_bytes
        )
    except InvalidInput as exc:
        doc["refused"] = {"code": exc.code, "message": exc.message}
    else:
        doc["plan"] = plan.model_dump()
        meta = {"format": plan.format, "gzipped": plan.gzipped, "size": plan.size}
        items = [{**c.model_dump(), **meta} for c in plan.chunks]
    plan_ref = ctx.store.put(
        bucket, prefix + "plan.json", json.dumps(doc).encode(), content_type="application/json"
    )
    items_ref = ctx.store.put(
        bucket, prefix + "items.json", json.dumps(items).encode(), content_type="application/json"
    )
    return {
        "chunks": len(items),
        "plan": {"bucket": bucket, "key": plan_ref.key, "version_id": plan_ref.version_id},
        "items": {"bucket": bucket, "key": items_ref.key},
        "refused": doc.get("refused"),
    }


# --- profile_chunk --------------------------------------------------------------------------
def profile_large_batch_chunk(
    ctx: Context, run: Mapping[str, Any], item: Mapping[str, Any]
) -> dict[str, Any]:
    """Profile one chunk and write its result; bad input is written as a refusal (not raised)."""
    from ..domain.ingest import read_table

    t0 = time.perf_counter()
    chunk = Chunk.model_validate({k: item[k] for k in Chunk.model_fields if k in item})
    plan = ChunkPlan(
        format=item["format"],
        gzipped=bool(item.get("gzipped")),
        size=int(item["size"]),
        target_bytes=0,
        chunks=[chunk],
    )
    model, batch_id = str(run["model"]), str(run["batch_id"])
    out: dict[str, Any] = {
        "index": chunk.index,
        "bytes": [chunk.start, chunk.end],
        "row_groups": chunk.row_groups,
    }
    try:
        spec, _ = load_spec(ctx, model, version_id=_pinned_version(run, "spec"))
        baseline, _, _ = load_baseline(ctx, spec, pinned=pinned_ref(run, "baseline"))
        table = read_table(chunk_payload(_reader(ctx, run), plan, chunk), str(run["filename"]))
        conformed, screened, pii = conform_and_screen(ctx, table, spec, role="inference")
        duplicates = sum(f.count for f in conformed.findings if f.check == "duplicate_ids")
        profile = profile_batch(screened, baseline, spec, batch_id=batch_id, duplicate_ids=duplicates)
        sample = chunk_sample(screened, baseline, seed=_seed(batch_id), index=chunk.index)
    except InvalidInput as exc:
        out |= {"status": "refused", "code": exc.code, "message": exc.message}
        if isinstance(exc, PiiRejected):
            out["pii"] = exc.summary.model_dump()
    else:
        out |= {
            "status": "ok",
            "rows": screened.num_rows,
            "profile": json.loads(profile.to_json()),
            "findings": [f.__dict__ for f in conformed.findings],
            "extra_columns": list(conformed.extra_columns),
            "pii": pii.model_dump(),
            "sample": sample.model_dump(),
        }
    out["profile_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    key = _prefix(run) + f"{chunk.name}.json"
    ctx.store.put(
        ctx.settings.artifacts_bucket, key, json.dumps(out).encode(), content_type="application/json"
    )
    return {k: out.get(k) for k in ("index", "status", "rows", "code", "profile_ms")}


# --- finish_large_batch ---------------------------------------------------------------------
def _pinned_version(run: Mapping[str, Any], name: str) -> str | None:
    ref = pinned_ref(run, name)
    return ref.version_id if ref is not None else None


def _source(run: Mapping[str, Any]) -> ObjectRef:
    return ObjectRef(str(run["bucket"]), str(run["key"]), run.get("version_id"), None, run.get("size"))


def finish_large_batch(ctx: Context, run: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the chunk results and publish (or quarantine) exactly once per execution."""
    return run_once(FINISH_FUNCTION, {"execution": str(run["execution_name"])}, lambda: _finish(ctx, run))


def _read_json(ctx: Context, key: str) -> tuple[Any, ObjectRef]:
    obj = ctx.store.get(ctx.settings.artifacts_bucket, key)
    return json.loads(obj.body), obj.ref


# long: the scale-out run's last step: merge, publish, record, in that order
def _finish(ctx: Context, run: Mapping[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    model, batch_id, source = str(run["model"]), str(run["batch_id"]), _source(run)
    prefix = _prefix(run)
    plan_doc, plan_ref = _read_json(ctx, prefix + "plan.json")
    if "refused" in plan_doc:
        refused = plan_doc["refused"]
        return quarantine_batch(
            ctx,
            model=model,
            batch_id=batch_id,
            source=source,
            code=refused["code"],
            message=refused["message"],
            function=FINISH_FUNCTION,
        )
    plan = ChunkPlan.model_validate(plan_doc["plan"])
    results = []
    for chunk in plan.chunks:
        try:
            results.append(_read_json(ctx, prefix + f"{chunk.name}.json")[0])
        except NotFound as exc:  # the Map succeeded, so this is storage trouble: retry
            raise StorageError(f"chunk {chunk.index} result missing under {prefix}") from exc
    spec, spec_ref = load_spec(ctx, model, version_id=_pinned_version(run, "spec"))
    refusals = [r for r in results if r.get("status") != "ok"]
    if refusals:
        first = refusals[0]
        where = f"chunk {first['index']} of {len(results)} (bytes {first['bytes'][0]}-{first['bytes'][1]})"
        pii = PiiSummary.model_validate(first["pii"]) if first.get("pii") else None
        return refuse_batch(
            ctx,
            BatchRejected(f"{where}: {first['message']}", code=str(first["code"])),
            model=model,
            batch_id=batch_id,
            source=source,
            pii_summary=pii,
            model_version=None,
            spec_ref=spec_ref,
            details={"chunks": len(results), "refused_chunks": len(refusals)},
            function=FINISH_FUNCTION,
        )
    pinned = pinned_ref(run, "baseline")
    baseline, baseline_ref, model_version = load_baseline(ctx, spec, pinned=pinned)
    if pinned is not None:  # the champion's version when the run started, not the baseline's own field
        model_version = run.get("model_version")
    profiles = [Profile.model_validate(r["profile"]) for r in results]
    _same_baseline(profiles, baseline)
    profile = merge_profiles(profiles).model_copy(update={"batch_ids": [batch_id]})
    findings = merge_findings([r["findings"] for r in results])
    pii_summary = merge_pii([PiiSummary.model_validate(r["pii"]) for r in results], spec.pii.action)
    sample = merge_samples([ChunkSample.model_validate(r["sample"]) for r in results])
    stages = {"profile": round(sum(float(r.get("profile_ms") or 0) for r in results), 2)}
    try:
        assessment = assess_profile(
            profile, sample, baseline, spec, batch_id=batch_id, findings=findings, stages=stages
        )
        check_quality(assessment)
    except InvalidInput as exc:
        return refuse_batch(
            ctx,
            exc,
            model=model,
            batch_id=batch_id,
            source=source,
            pii_summary=pii_summary,
            model_version=model_version,
            spec_ref=spec_ref,
            function=FINISH_FUNCTION,
        )
    result = publish_batch(
        ctx,
        AssessedBatch(
            model=model,
            model_version=model_version,
            batch_id=batch_id,
            source=source,
            spec=spec,
            spec_ref=spec_ref,
            baseline=baseline,
            baseline_ref=baseline_ref,
            assessment=assessment,
            pii=pii_summary,
            findings=findings,
            extra_columns=results[0]["extra_columns"],
            rows=profile.rows,
            started=started,
            function=FINISH_FUNCTION,
            lineage_inputs=[plan_ref],
        ),
    )
    return {**result, "chunks": len(results)}


def _same_baseline(profiles: list[Profile], baseline: Baseline) -> None:
    changed = {p.baseline_fingerprint for p in profiles} - {baseline.fingerprint}
    if changed:
        raise ConflictError(
            "the model's baseline changed while the chunks were profiled; upload the batch again"
        )


# --- fail_large_batch -----------------------------------------------------------------------
def fail_large_batch(ctx: Context, run: Mapping[str, Any], error: Mapping[str, Any] | None) -> dict[str, Any]:
    """A step failed after its retries: quarantine-style reason and audit record, no verdict."""
    error = dict(error or {})
    name, cause = str(error.get("Error") or "States.TaskFailed"), str(error.get("Cause") or "")
    try:  # a Lambda error's Cause is its JSON error payload: keep the message, not the stack
        detail = json.loads(cause)
        cause = f"{detail.get('errorType', '')}: {detail.get('errorMessage', '')}".strip(": ")
    except (ValueError, AttributeError):
        pass
    message = (
        f"the scale-out run {run.get('execution_name')} failed ({name}: {cause[:500]}); no verdict was "
        "made from partial data. Check the functions' logs, then upload the batch again"
    )
    result = quarantine_batch(
        ctx,
        model=str(run["model"]),
        batch_id=str(run["batch_id"]),
        source=_source(run),
        code=FAILED_CODE,
        message=message,
        details={"error": name, "cause": cause[:2000]},
        function=FINISH_FUNCTION,
    )
    return {**result, "status": "failed"}
