"""A batch's estimate beside its realized value, read from the quality files (domain.estimate_view).

monitor_batch puts it into the batch report when it monitors the batch (the estimate is there by
then: score_batch writes it before the inference file that triggers monitoring, and a model served
elsewhere gets it from monitor_batch itself). Labels come later: evaluate_labels calls
:func:`redraw_batch_report` for every batch they judged, so report.html shows the realized values
beside the estimate; report.json stays what monitoring knew (its record in the audit trail).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .. import layout
from ..domain.estimate_view import EstimateVsRealized, estimate_vs_realized
from ..errors import NotFound
from ..ports import ObjectRef
from .context import Context

log = logging.getLogger(__name__)


def read_json(ctx: Context, key: str) -> dict[str, Any] | None:
    """An artifacts-bucket JSON document, None when absent or unreadable (a page is never worth a crash)."""
    try:
        body = ctx.store.get(ctx.settings.artifacts_bucket, key).body
    except NotFound:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        log.warning("unreadable quality document", extra={"key": key})
        return None
    return data if isinstance(data, dict) else None


def batch_performance(ctx: Context, model: str, batch_id: str) -> EstimateVsRealized | None:
    """The batch's estimate and, when labels already came, its realized values; None: no estimate."""
    estimated = read_json(ctx, layout.estimated_performance_key(model, batch_id))
    if estimated is None:
        return None
    return estimate_vs_realized(estimated, read_json(ctx, layout.batch_realized_key(model, batch_id)))


def redraw_batch_report(ctx: Context, model: str, batch_id: str) -> ObjectRef | None:
    """report.html of a monitored batch again, with the realized values beside the estimate.
    ``batch_id``: the batch's id under quality/ (score_batch's, or monitor_batch's own for a model
    served elsewhere); the report of a suite-scored batch is under its inference file's id.

    None when the batch has no report yet (monitoring will read the realized values itself) or no
    estimate (nothing to set side by side)."""
    from ..domain.report import BatchReport
    from ..reporting.batch import render_batch_report

    data = None
    for report_id in (layout.monitored_batch_id(model, batch_id), batch_id):  # suite-scored, served elsewhere
        prefix = layout.batch_report_prefix(model, report_id)
        data = read_json(ctx, prefix + "report.json")
        if data is not None:
            break
    performance = batch_performance(ctx, model, batch_id) if data is not None else None
    if data is None or performance is None:
        return None
    try:
        report = BatchReport.model_validate({**data, "performance": performance.model_dump(mode="json")})
    except ValueError as exc:  # a report of another schema: leave its page as it is
        log.warning(
            "report.json not redrawn", extra={"model": model, "batch_id": batch_id, "error": str(exc)[:200]}
        )
        return None
    return ctx.store.put(
        ctx.settings.artifacts_bucket,
        prefix + "report.html",
        render_batch_report(report).encode(),
        content_type="text/html; charset=utf-8",
    )
