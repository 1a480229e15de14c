"""monitor_batch: an inference upload -> quarantine, or profile + drift + quality report + metrics + audit.

Steps: parse the key; load the spec; get the object (size limit); read and conform it (role
inference); scan for PII before anything keeps data (quarantine, or redact/hash first); load the
champion's baseline (else the model's reference baseline); profile in one pass; drift per column and
as a dataset; multivariate drift; quality. Then write profile.json, constraint_violations.json,
report.html and report.json, append the audit records, emit the metrics.

Exactly once: the whole run is wrapped in ``run_once`` keyed by (bucket, key, version). Writes are
ordered artifacts -> audit -> done, so a crash leaves at worst artifacts without their record, which
the retry (the idempotency record is released on failure) rewrites and records. Bad input of any
kind (InvalidInput) ends in quarantine with a reason; storage errors propagate so Lambda retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
from pydantic import ValidationError

from .. import layout, metric_names
from ..domain.assessment_record import AttributionDrift, BatchBias
from ..domain.baseline import Baseline, spec_fingerprint
from ..domain.contract import reported_extra_columns
from ..domain.drift import mark_persistent
from ..domain.episodes import Observation
from ..domain.persistence import drift_reasons
from ..domain.quality import ContractFindingLike
from ..domain.report import BatchReport, Lineage, PiiSummary, Timings, build_report
from ..domain.sagemaker import constraint_violations_json
from ..errors import BaselineMissing, InvalidInput, NotFound
from ..events import S3Upload
from ..observability import peak_memory_mb
from ..ports import ObjectRef
from ..spec import ModelSpec
from .assessment import (
    Assessment,
    PiiRejected,
    QualityRejected,
    assess_batch,
    check_quality,
    conform_and_screen,
)
from .context import Context
from .episodes import drift_persistence, observation, observe_batch, report_observations
from .handover import start_large_batch
from .quarantine import quarantine_batch
from .specs import load_spec

log = logging.getLogger(__name__)

FUNCTION = "monitor_batch"


# --- shared steps (create_baseline reads uploads the same way) -------------------------------
@dataclass
class PreparedBatch:
    """A conformed, PII-screened batch, ready to be profiled."""

    table: pa.Table
    source: ObjectRef
    findings: list[Any]
    extra_columns: list[str]
    pii: PiiSummary


def read_upload(
    ctx: Context, upload: S3Upload, spec: ModelSpec, *, role: str, filename: str
) -> tuple[PreparedBatch, Any]:
    """Get, read, conform and PII-screen one upload. InvalidInput for anything wrong with it."""
    from ..domain.ingest import IngestLimits, read_table

    limits = IngestLimits()
    obj = ctx.store.get(upload.bucket, upload.key, upload.version_id, max_bytes=limits.max_object_bytes)
    try:
        table = read_table(obj.body, filename, limits)
        conformed, screened, summary = conform_and_screen(ctx, table, spec, role=role)
    except InvalidInput as exc:
        exc.source = obj.ref  # type: ignore[attr-defined]  # the exact version refused, for the reason
        raise
    return PreparedBatch(
        screened, obj.ref, list(conformed.findings), list(conformed.extra_columns), summary
    ), obj


# --- baselines ------------------------------------------------------------------------------
def load_baseline(
    ctx: Context, spec: ModelSpec, *, pinned: ObjectRef | None = None
) -> tuple[Baseline, ObjectRef, int | None]:
    """The champion's baseline (registry row ``baseline_uri``), else the reference baseline; or the
    exact version a scale-out run pinned when it started."""
    model = spec.name
    champion = ctx.registry.champion(model) if ctx.registry is not None and pinned is None else None
    version: int | None = None
    version_id: str | None = None
    uri: str | None = None
    if pinned is not None:
        uri, version_id = layout.s3_uri(pinned.bucket, pinned.key), pinned.version_id
    elif champion:
        version = int(champion["version"]) if champion.get("version") is not None else None
        uri = champion.get("baseline_uri") or (
            layout.s3_uri(
                ctx.settings.artifacts_bucket, layout.baseline_prefix(model, version) + "baseline.json"
            )
            if version is not None
            else None
        )
        version_id = champion.get("baseline_version_id")
    if not uri:  # no champion yet: the reference baseline
        uri = layout.s3_uri(
            ctx.settings.artifacts_bucket, layout.reference_baseline_prefix(model) + "baseline.json"
        )
    bucket, key = layout.parse_s3_uri(uri)
    try:
        obj = ctx.store.get(bucket, key, version_id)
    except NotFound as exc:
        raise BaselineMissing(
            f"no baseline for model '{model}' (looked for {uri}): train the model or upload "
            f"reference/{model}/<file> so create_baseline builds one"
        ) from exc
    try:
        baseline = Baseline.from_json(obj.body)
    except ValueError as exc:
        raise BaselineMissing(
            f"the baseline at {uri} is unreadable ({str(exc)[:200]}); rebuild it by "
            f"retraining or re-uploading reference/{model}/<file>"
        ) from exc
    if baseline.model != model:
        raise BaselineMissing(f"the baseline at {uri} belongs to model '{baseline.model}', not '{model}'")
    return baseline, obj.ref, version if version is not None else baseline.model_version


# --- the service ----------------------------------------------------------------------------
def monitor_batch(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    """Monitor one inference upload, exactly once per object version."""
    from ..idempotency import run_once  # Powertools idempotency brings boto3 (+0.1 s): only a run needs it

    return run_once(FUNCTION, upload.idempotency_key(), lambda: _monitor(ctx, upload))


# long: the monitoring path's steps with the error handling each needs
def _monitor(ctx: Context, upload: S3Upload) -> dict[str, Any]:
    started = time.perf_counter()
    source = upload.object_ref()
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
    if key.prefix != "inference":
        return quarantine_batch(
            ctx,
            model=key.model,
            batch_id=key.batch_id,
            source=source,
            code="bad_key",
            message=f"monitor_batch handles inference/ uploads, not {key.prefix}/",
            function=FUNCTION,
        )
    model, batch_id = key.model, key.batch_id
    spec_ref: ObjectRef | None = None
    model_version: int | None = None
    pii_summary: PiiSummary | None = None
    try:
        spec, spec_ref = load_spec(ctx, model)
        if scale_out_requested(ctx, upload):
            # an unknown model or a missing baseline is refused here, with its own reason
            _, baseline_ref, pinned_version = load_baseline(ctx, spec)
            return start_large_batch(
                ctx, upload, key, spec_ref=spec_ref, baseline_ref=baseline_ref, model_version=pinned_version
            )
        try:
            prepared, obj = read_upload(ctx, upload, spec, role="inference", filename=key.name)
        except NotFound:  # deleted before we got to it: nothing to monitor, nothing to quarantine
            log.warning("upload vanished before monitoring", extra={"model": model, "batch_id": batch_id})
            return {"status": "gone", "model": model, "batch_id": batch_id}
        source, pii_summary = prepared.source, prepared.pii
        baseline, baseline_ref, model_version = load_baseline(ctx, spec)
        assessment = assess_batch(
            prepared.table, baseline, spec, batch_id=batch_id, findings=prepared.findings
        )
        check_quality(assessment)
        bias = assess_bias(ctx, spec, prepared.table, model_version)
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
        )

    assert spec_ref is not None and pii_summary is not None
    return publish_batch(
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
            findings=prepared.findings,
            extra_columns=prepared.extra_columns,
            rows=prepared.table.num_rows,
            started=started,
            bias=bias,
            table=prepared.table,
            source_metadata=dict(obj.metadata),
        ),
    )


def attribution_section(ctx: Context, batch: AssessedBatch) -> AttributionDrift | None:
    """score_batch's attribution drift of this batch (layout.attribution_key), or why there is none.

    Attributions need the model to run on the batch's rows: only score_batch has it loaded."""
    from .byom import scored_by_suite

    spec = batch.spec
    if not spec.explanations.attribution_drift:
        return None
    batch_id = batch.source_metadata.get("batch-id")
    if not batch_id or not scored_by_suite(batch.model, batch.source.key, batch.source_metadata):
        reason = (
            "not available: the model is served elsewhere and the suite holds no model artefact to "
            "attribute its outputs"
            if batch.model_version is None
            else f"not available: this batch was not scored by the suite (upload to scoring/{batch.model}/ "
            "so score_batch runs the model on the rows)"
        )
        return AttributionDrift(available=False, reason=reason)
    try:
        doc = ctx.store.get(ctx.settings.artifacts_bucket, layout.attribution_key(batch.model, batch_id))
    except NotFound:
        return AttributionDrift(available=False, reason="not available: score_batch stored no attributions")
    try:
        return AttributionDrift.model_validate_json(
            doc.body
        )  # score_batch's record (model, batch_id ignored)
    except ValidationError:
        unreadable = "not available: score_batch's attributions are unreadable"
        return AttributionDrift(available=False, reason=unreadable)


def performance_section(ctx: Context, batch: AssessedBatch) -> Any | None:
    """The batch's label-free estimate (and realized values, if labels came first): score_batch's
    for a batch it scored (named in the inference file's metadata), else the one keep_predictions
    just wrote for a model served elsewhere."""
    from .byom import scored_by_suite
    from .performance_view import batch_performance

    metadata = batch.source_metadata or {}
    scored = scored_by_suite(batch.model, batch.source.key, metadata)
    return batch_performance(ctx, batch.model, str(metadata["batch-id"]) if scored else batch.batch_id)


def assess_bias(
    ctx: Context, spec: ModelSpec, table: pa.Table, model_version: int | None
) -> BatchBias | None:
    """Bias drift of the batch's predictions against the spec's prediction-only bounds, or None."""
    fair = spec.fairness
    present = [a for a in fair.sensitive_attributes if a in table.column_names]
    if not fair.bounds.committed() or not present or spec.prediction_column not in table.column_names:
        return None
    from ..domain.fairness import batch_bias

    classes = list(spec.classes or [])
    if not classes and fair.favorable_label is None and ctx.registry is not None and model_version:
        try:  # the positive class of the version that made the baseline
            row = ctx.registry.get_version(spec.name, model_version)
            classes = [str(c) for c in row.get("classes") or []]
        except NotFound:
            classes = []
    sensitive = {a: table.column(a).to_numpy(zero_copy_only=False) for a in present}
    y_pred = table.column(spec.prediction_column).to_numpy(zero_copy_only=False)
    return batch_bias(spec, sensitive, y_pred, classes)


def scale_out_requested(ctx: Context, upload: S3Upload) -> bool:
    """Above ``SCALE_OUT_BYTES`` (when the state machine is deployed) the batch goes to scale-out."""
    arn = ctx.settings.scale_out_state_machine_arn
    return bool(arn) and upload.size is not None and upload.size > ctx.settings.scale_out_bytes


def refuse_batch(
    ctx: Context,
    exc: InvalidInput,
    *,
    model: str,
    batch_id: str,
    source: ObjectRef,
    pii_summary: PiiSummary | None,
    model_version: int | None,
    spec_ref: ObjectRef | None,
    details: Mapping[str, Any] | None = None,
    function: str = FUNCTION,
) -> dict[str, Any]:
    """Quarantine a batch refused as bad input: the reason, PII and quality details, the audit record."""
    source = getattr(exc, "source", source)
    extra: dict[str, Any] = dict(details or {})
    if isinstance(exc, PiiRejected):
        pii_summary = exc.summary
    dims = {"model": model}
    observed: dict[str, Observation] = {}
    if isinstance(exc, QualityRejected):
        extra["violations"] = [v.model_dump() for v in exc.quality.violations]
        # quarantine must not hide the violations from the quality alarm
        count = len(exc.quality.violations)
        ctx.metrics.put(metric_names.QUALITY_VIOLATIONS, count, "Count", dims)
        observed["quality"] = observation(ctx, batch_id, breached=True, value=float(count), threshold=0.0)
    if pii_summary is not None and pii_summary.findings:
        extra["pii"] = pii_summary.model_dump()
        _record_pii(ctx, model, model_version, source, pii_summary, function)
        found = sum(f.count for f in pii_summary.findings)
        ctx.metrics.put(metric_names.PII_FINDINGS, found, "Count", dims)
        observed["pii"] = observation(ctx, batch_id, breached=True, value=float(found), threshold=0.0)
    if observed and spec_ref is not None:  # a known model: its episodes count the refused batch too
        observe_batch(ctx, model, observed)
    return quarantine_batch(
        ctx,
        model=model,
        batch_id=batch_id,
        source=source,
        code=exc.code,
        message=exc.message,
        details=extra,
        model_version=model_version,
        inputs=[r for r in (spec_ref,) if r is not None],
        function=function,
    )


@dataclass
class AssessedBatch:
    """Everything the post-profile steps need, whichever path (one run or scale-out) profiled it."""

    model: str
    model_version: int | None
    batch_id: str
    source: ObjectRef
    spec: ModelSpec
    spec_ref: ObjectRef
    baseline: Baseline
    baseline_ref: ObjectRef
    assessment: Assessment
    pii: PiiSummary
    findings: Sequence[ContractFindingLike]
    extra_columns: Sequence[str]
    rows: int
    started: float
    function: str = FUNCTION
    lineage_inputs: Sequence[ObjectRef] = ()
    bias: BatchBias | None = None  # one-run path only; scale-out leaves it out
    table: pa.Table | None = None  # the conformed rows (one run); None after scale-out
    source_metadata: Mapping[str, str] = field(default_factory=dict)  # the upload's S3 user metadata


def newer_version(ctx: Context, source: ObjectRef) -> str | None:
    """The upload key's current version id when it is not ``source``'s: the key was uploaded again
    and this version is superseded (None when it is current, unversioned or gone)."""
    if not source.version_id:
        return None
    try:
        current = ctx.store.head(source.bucket, source.key).version_id
    except NotFound:
        return None
    return current if current and current != source.version_id else None


def record_superseded(
    ctx: Context, model: str, batch_id: str, old: Mapping[str, Any], new: Mapping[str, Any], function: str
) -> None:
    """The audit record that a batch's upload version was replaced by a newer upload of its key."""
    ctx.record_once(
        "batch.superseded",
        {"uri": str(old.get("uri") or ""), "version_id": str(old.get("version_id") or "")},
        model=model,
        reason=f"{old.get('uri')} was uploaded again: the newer version replaces this one in the "
        "batch index, the window counts and the report",
        inputs=[dict(old)],
        outputs=[dict(new)],
        details={"function": function, "batch_id": batch_id, "superseded_by": new.get("version_id")},
    )


def _previous_report(ctx: Context, model: str, batch_id: str) -> BatchReport | None:
    from .batch_index import BatchIndex

    return BatchIndex(ctx, ctx.settings.artifacts_bucket, model).read_report(batch_id)


# long: the batch's outputs in the order a retry must find them (report, index, audit, metrics)
def publish_batch(ctx: Context, batch: AssessedBatch) -> dict[str, Any]:
    """Report, artifacts, audit records and metrics of an assessed batch (both paths share this).

    An upload key uploaded again is a new version of one batch: a version that is no longer the
    key's current one publishes nothing (``batch.superseded`` records it); the current one replaces
    the previous version's report and index marker and records that version as superseded."""
    model, model_version, batch_id = batch.model, batch.model_version, batch.batch_id
    source, spec, baseline, assessment = batch.source, batch.spec, batch.baseline, batch.assessment
    pii_summary = batch.pii
    newer = newer_version(ctx, source)
    if newer is not None:
        record_superseded(
            ctx,
            model,
            batch_id,
            source.as_dict(),
            {**source.as_dict(), "version_id": newer, "sha256": None},
            batch.function,
        )
        log.info("superseded upload version skipped", extra={"model": model, "batch_id": batch_id})
        return {"status": "superseded", "model": model, "batch_id": batch_id, "superseded_by": newer}
    previous = _previous_report(ctx, model, batch_id)
    # persistence: features beyond their noise band batch after batch (the drift episode keeps the
    # evidence) are drift in this batch's verdict, with that reason
    time_range = (assessment.profile.time_min, assessment.profile.time_max)
    persistent = drift_persistence(ctx, spec, assessment.drift, batch_id=batch_id, time_range=time_range)
    if reasons := drift_reasons(persistent):
        assessment = replace(assessment, drift=mark_persistent(assessment.drift, reasons))
    from .byom import keep_predictions, report_findings  # the label join's copy, label-free estimate

    kept = keep_predictions(ctx, batch)
    report = build_report(
        model=model,
        model_version=model_version,
        batch_id=batch_id,
        source=source.as_dict(),
        created_at=ctx.clock().isoformat(timespec="seconds"),
        rows=batch.rows,
        drift=assessment.drift,
        multivariate=assessment.multivariate,
        quality=assessment.quality,
        pii=pii_summary,
        findings=[*batch.findings, *report_findings(kept)],
        extra_columns=reported_extra_columns(batch.extra_columns, "inference"),
        timings=Timings(
            processing_ms=round((time.perf_counter() - batch.started) * 1000, 1),
            peak_memory_mb=peak_memory_mb(),
            stages_ms=assessment.stages_ms,
        ),
        lineage=Lineage(
            inputs=[source.as_dict(), *(r.as_dict() for r in batch.lineage_inputs)],
            baseline=batch.baseline_ref.as_dict(),
            spec={
                **batch.spec_ref.as_dict(),
                "fingerprint": spec_fingerprint(spec),
                "baseline_spec_fingerprint": baseline.spec_fingerprint,
            },
        ),
        time_range=time_range,
        bias=batch.bias,
        attribution_drift=attribution_section(ctx, batch),
        performance=performance_section(ctx, batch),
    )
    outputs = write_batch_artifacts(ctx, report, assessment)
    from .batch_index import record_batch  # windows find this batch by one listing, never by reading reports

    marker = record_batch(ctx, report)
    _replace_previous(ctx, batch, previous, marker.key if marker else None)
    inputs = [source, batch.spec_ref, batch.baseline_ref]
    if pii_summary.findings:
        _record_pii(ctx, model, model_version, source, pii_summary)
    once = {"uri": source.uri, "version_id": source.version_id or source.sha256 or ""}
    ctx.record_once(
        "batch.accepted",
        once,
        model=model,
        model_version=model_version,
        reason=f"verdict {report.verdict}",
        inputs=[r.as_dict() for r in inputs],
        outputs=[r.as_dict() for r in outputs.values()],
        details={
            "function": batch.function,
            "batch_id": batch_id,
            "rows": report.rows,
            "pii_findings": sum(f.count for f in pii_summary.findings),
            "quality_violations": len(report.quality),
            **({"bias_breach": report.bias.breach, "bias_values": report.bias.values} if report.bias else {}),
        },
    )
    ctx.record_once(
        "drift.verdict",
        once,
        model=model,
        model_version=model_version,
        reason=f"verdict {report.verdict}",
        inputs=[outputs["profile"].as_dict()],
        outputs=[outputs["report"].as_dict()],
        details={
            "batch_id": batch_id,
            "verdict": report.verdict,
            "drifted_feature_share": report.dataset_drift.share,
            "drifted_features": report.dataset_drift.drifted_features,
            "prediction_drift": assessment.drift.prediction_drifted,
            "multivariate_auc": report.multivariate.auc if report.multivariate else None,
        },
    )
    emit_metrics(ctx, report)
    observe_batch(ctx, model, report_observations(ctx, report, persistent=persistent), spec=spec)
    log.info(
        "batch monitored",
        extra={
            "model": model,
            "batch_id": batch_id,
            "verdict": report.verdict,
            "rows": report.rows,
            "ms": report.timings.processing_ms,
        },
    )
    return {
        "status": "accepted",
        "model": model,
        "model_version": model_version,
        "batch_id": batch_id,
        "rows": report.rows,
        "verdict": report.verdict,
        "report_uri": outputs["report"].uri,
        "predictions": kept,
    }


def _replace_previous(
    ctx: Context, batch: AssessedBatch, previous: BatchReport | None, marker: str | None
) -> None:
    """The previous version's marker goes and its supersession is recorded. With concurrent uploads
    of one key, each run that finds a newer version publishes nothing and the newest run replaces
    whatever an older one wrote, so they converge to one index entry (BatchIndex.entries also keeps
    the newest marker per batch)."""
    from .batch_index import forget_marker

    source = batch.source.as_dict()
    if previous is not None and previous.source.version_id != source.get("version_id"):
        forget_marker(ctx, previous, keep=marker)
        if previous.source.uri:
            old_source = previous.source.model_dump()
            record_superseded(ctx, batch.model, batch.batch_id, old_source, source, batch.function)


def _record_pii(
    ctx: Context,
    model: str,
    version: int | None,
    source: ObjectRef,
    summary: PiiSummary,
    function: str = FUNCTION,
) -> None:
    ctx.record_once(
        "pii.finding",
        {"uri": source.uri, "version_id": source.version_id or source.sha256 or ""},
        model=model,
        model_version=version,
        reason=f"PII in {', '.join(summary.columns)}; action {summary.action}",
        inputs=[source.as_dict()],
        details={
            "function": function,
            "action": summary.action,
            "findings": [{"column": f.column, "kind": f.kind, "count": f.count} for f in summary.findings],
        },
    )


def write_batch_artifacts(ctx: Context, report: BatchReport, assessment: Assessment) -> dict[str, ObjectRef]:
    """profile.json, constraint_violations.json and report.html first; report.json last (it marks
    the batch complete). A page that cannot be drawn becomes the notice of services.pages, recorded
    once report.json is written."""
    from ..reporting.batch import render_batch_report  # the page's charts load only here
    from .pages import HTML, draw, page_title, record_failure

    bucket = ctx.settings.artifacts_bucket
    prefix = layout.batch_report_prefix(report.model, report.batch_id)
    violations = constraint_violations_json(assessment.drift, assessment.quality, report.extra_columns)
    page = draw(
        lambda: render_batch_report(report),
        title=page_title("batch_report", f"{report.model} {report.batch_id}"),
        record_uri=layout.s3_uri(bucket, prefix + "report.json"),
    )
    out = {
        "profile": ctx.store.put(
            bucket,
            prefix + "profile.json",
            assessment.profile.to_json().encode(),
            content_type="application/json",
        ),
        "constraint_violations": ctx.store.put(
            bucket,
            prefix + "constraint_violations.json",
            json.dumps(violations, indent=2).encode(),
            content_type="application/json",
        ),
        "report_html": ctx.store.put(bucket, prefix + "report.html", page.html.encode(), content_type=HTML),
    }
    out["report"] = ctx.store.put(
        bucket, prefix + "report.json", report.to_json(indent=2).encode(), content_type="application/json"
    )
    record_failure(
        ctx,
        page,
        kind="batch_report",
        model=report.model,
        model_version=report.model_version,
        outputs=[out["report"], out["report_html"]],
    )
    return out


def emit_metrics(ctx: Context, report: BatchReport) -> None:
    dims: Mapping[str, str] = {"model": report.model}
    put = ctx.metrics.put
    put(metric_names.BATCH_ROWS, report.rows, "Count", dims)
    put(metric_names.BATCH_ACCEPTED, 1, "Count", dims)
    put(metric_names.DRIFTED_FEATURE_SHARE, report.dataset_drift.share, "None", dims)
    put(metric_names.DATASET_DRIFT, 1.0 if report.drifted else 0.0, "None", dims)
    if report.multivariate is not None and report.multivariate.auc is not None:
        put(metric_names.MULTIVARIATE_DRIFT_AUC, report.multivariate.auc, "None", dims)
    put(metric_names.QUALITY_VIOLATIONS, len(report.quality), "Count", dims)
    put(metric_names.PII_FINDINGS, sum(f.count for f in report.pii.findings), "Count", dims)
    put(metric_names.PROCESSING_TIME, report.timings.processing_ms, "Milliseconds", dims)
    put(metric_names.PEAK_MEMORY, report.timings.peak_memory_mb, "Megabytes", dims)
    if report.bias is not None:
        put(metric_names.BIAS_BREACH, 1.0 if report.bias.breach else 0.0, "None", dims)
        values = report.bias.values
        for key, name in (
            ("demographic_parity_difference", metric_names.BIAS_PARITY_DIFFERENCE),
            ("disparate_impact_ratio", metric_names.BIAS_DISPARATE_IMPACT),
        ):
            if (value := values.get(key)) is not None:
                put(name, value, "None", dims)
    for f in report.features:
        if f.score is not None:
            put(metric_names.FEATURE_DRIFT_SCORE, f.score, "None", {"model": report.model, "feature": f.name})
