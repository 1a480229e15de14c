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
from .pages import write_page

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
    estimate (nothing to set side by side). report.json is read with its model (BatchReport) and
    stays as monitoring wrote it; only the page changes."""
    from ..reporting.batch import render_batch_report
    from .batch_index import BatchIndex

    index = BatchIndex(ctx, ctx.settings.artifacts_bucket, model)
    for report_id in (layout.monitored_batch_id(model, batch_id), batch_id):  # suite-scored, served elsewhere
        found = index.report_and_ref(report_id)
        if found is not None:
            break
    performance = batch_performance(ctx, model, batch_id) if found is not None else None
    if found is None or performance is None:
        return None
    report, record = found
    redrawn = report.model_copy(update={"performance": performance})
    ref, _ = write_page(
        ctx,
        ctx.settings.artifacts_bucket,
        layout.batch_report_prefix(model, report_id) + "report.html",
        lambda: render_batch_report(redrawn),
        kind="batch_report",
        subject=f"{model} {report.batch_id}",
        record=record,
        model=model,
        model_version=report.model_version,
    )
    return ref
