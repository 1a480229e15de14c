"""A batch's label-free estimate beside its realized value, as the batch report and the drift-over-time
page show them.

The estimate is known when the batch is scored (``quality/<model>/<batch_id>/estimated.json``,
written by score_batch or, for a model served elsewhere, by monitor_batch); the realized value only
once labels arrive (``realized.json`` beside it, rewritten by evaluate_labels with every label file).
Joining the two here, by variant and version, keeps the pages free of document shapes and lets a
person see at a glance whether the estimate could be trusted: the band, its width, and where the
realized value fell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: the order metrics are shown in after the primary metric
METRIC_ORDER = ("roc_auc", "accuracy", "precision", "recall", "f1", "log_loss")
MODEL_VARIANT = "model"  # a model served elsewhere: the estimate over all its rows


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricComparison(_Model):
    metric: str
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    width: float | None = Field(default=None, description="upper - lower of the 95% band")
    realized: float | None = Field(default=None, description="null until labels arrive")
    gap: float | None = Field(default=None, description="realized - estimate")
    inside_band: bool | None = None


class VariantComparison(_Model):
    variant: str = Field(description="champion / challenger, a served model's own variant, or 'model'")
    version: int | None = None
    rows: int = Field(0, description="rows the estimate covers")
    realized_rows: int | None = Field(default=None, description="labeled rows behind the realized values")
    trusted: bool = True
    trust_note: str | None = None
    reference_rows: int | None = None
    calibration: list[str] = Field(default_factory=list)
    beyond_reference_share: float | None = None
    metrics: list[MetricComparison] = Field(default_factory=list)

    def metric(self, name: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.metric == name), None)


class EstimateVsRealized(_Model):
    primary_metric: str
    batch_id: str | None = Field(default=None, description="the batch's id under quality/ (its estimate)")
    labels_evaluated_at: str | None = None
    rows_scored: int | None = None
    rows_labeled: int | None = None
    variants: list[VariantComparison] = Field(default_factory=list)

    def headline(self) -> VariantComparison | None:
        """The variant the model's own metrics describe: the champion, else all rows, else the first."""
        for name in ("champion", MODEL_VARIANT):
            found = next((v for v in self.variants if v.variant == name), None)
            if found is not None:
                return found
        return self.variants[0] if self.variants else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _realized_by_variant(
    realized: Mapping[str, Any],
) -> dict[tuple[str, int | None], tuple[dict[str, Any], int]]:
    """(variant, version) -> (metrics, rows), and (``model``, None) -> all labeled rows."""
    out: dict[tuple[str, int | None], tuple[dict[str, Any], int]] = {}
    for entry in realized.get("versions") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("metrics"), Mapping):
            version = entry.get("version")
            key = (str(entry.get("variant")), int(version) if isinstance(version, int) else None)
            out[key] = (dict(entry["metrics"]), int(entry.get("rows") or 0))
    if isinstance(realized.get("metrics"), Mapping):
        out[(MODEL_VARIANT, None)] = (dict(realized["metrics"]), int(realized.get("rows_labeled") or 0))
    return out


def compare(
    metric: str, estimate: float | None, lower: float | None, upper: float | None, realized: float | None
) -> MetricComparison:
    """One metric's estimate and band beside its realized value (None: no labels yet)."""
    width = inside = None
    if lower is not None and upper is not None:
        width = upper - lower
        inside = None if realized is None else lower <= realized <= upper
    return MetricComparison(
        metric=metric,
        estimate=estimate,
        lower=lower,
        upper=upper,
        width=width,
        realized=realized,
        gap=None if realized is None or estimate is None else realized - estimate,
        inside_band=inside,
    )


def _comparison(
    name: str, entry: Mapping[str, Any], primary: str, realized: Mapping[tuple[str, int | None], Any]
) -> VariantComparison | None:
    estimate = entry.get("estimate")
    if not isinstance(estimate, Mapping):
        return None
    version = entry.get("version")
    version = int(version) if isinstance(version, int) else None
    metrics_done, realized_rows = realized.get((name, None if name == MODEL_VARIANT else version), ({}, None))
    found = estimate.get("metrics")
    metrics: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    order = [primary, *(m for m in METRIC_ORDER if m != primary)]
    order += sorted(set(metrics) - set(order))
    rows = []
    for metric in order:
        est = metrics.get(metric)
        if isinstance(est, Mapping):
            value, lower, upper = (_number(est.get(k)) for k in ("value", "lower", "upper"))
            rows.append(compare(metric, value, lower, upper, _number(metrics_done.get(metric))))
    return VariantComparison(
        variant=name,
        version=version,
        rows=int(estimate.get("rows") or 0),
        realized_rows=realized_rows if metrics_done else None,
        trusted=estimate.get("trusted") is not False,
        trust_note=estimate.get("trust_note"),
        reference_rows=estimate.get("reference_rows"),
        calibration=[str(c) for c in estimate.get("calibration") or []],
        beyond_reference_share=_number(estimate.get("beyond_reference_share")),
        metrics=rows,
    )


def estimate_vs_realized(
    estimated: Mapping[str, Any] | None, realized: Mapping[str, Any] | None = None
) -> EstimateVsRealized | None:
    """The comparison of one batch from its ``estimated.json`` and (once labels came) ``realized.json``
    documents; None without an estimate. Variants: score_batch's ``variants``; a served model's
    ``overall`` (shown as ``model``) first, then its own variants."""
    if not isinstance(estimated, Mapping):
        return None
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(estimated.get("overall"), Mapping):
        entries.append((MODEL_VARIANT, estimated["overall"]))
    variants = estimated.get("variants")
    if isinstance(variants, Mapping):
        order = sorted(variants, key=lambda v: ({"champion": 0, "challenger": 1}.get(v, 2), v))
        entries += [(str(v), variants[v]) for v in order if isinstance(variants[v], Mapping)]
    primary = next(
        (str(e["primary_metric"]) for _, e in entries if isinstance(e.get("primary_metric"), str)), None
    )
    if primary is None or not entries:
        return None
    done = _realized_by_variant(realized) if isinstance(realized, Mapping) else {}
    compared = [c for c in (_comparison(n, e, primary, done) for n, e in entries) if c is not None]
    if not compared:
        return None
    labels = realized if isinstance(realized, Mapping) else {}
    return EstimateVsRealized(
        primary_metric=primary,
        batch_id=str(estimated["batch_id"]) if estimated.get("batch_id") is not None else None,
        labels_evaluated_at=labels.get("evaluated_at"),
        rows_scored=labels.get("rows_scored"),
        rows_labeled=labels.get("rows_labeled"),
        variants=compared,
    )


class TimelineEstimate(MetricComparison):
    """The model-level primary metric of one batch, as the drift-over-time page keeps it."""

    batch_id: str | None = Field(default=None, description="the batch's id under quality/ (its estimate)")
    variant: str
    version: int | None = None
    rows: int = Field(0, description="rows the estimate covers")
    realized_rows: int | None = Field(default=None, description="labeled rows behind the realized value")
    trusted: bool = True


def timeline_entry(view: EstimateVsRealized | None) -> TimelineEstimate | None:
    """The model-level primary metric of one batch for the drift-over-time page."""
    headline = view.headline() if view is not None else None
    row = headline.metric(view.primary_metric) if view is not None and headline is not None else None
    if view is None or headline is None or row is None:
        return None
    return TimelineEstimate(
        **row.model_dump(),
        batch_id=view.batch_id,
        variant=headline.variant,
        version=headline.version,
        rows=headline.rows,
        realized_rows=headline.realized_rows,
        trusted=headline.trusted,
    )


def with_realized(entry: TimelineEstimate, realized: Mapping[str, Any] | None) -> TimelineEstimate:
    """A :func:`timeline_entry` with the realized value of a (newer) ``realized.json``."""
    if not isinstance(realized, Mapping):
        return entry
    version = entry.version if entry.variant != MODEL_VARIANT else None
    done, rows = _realized_by_variant(realized).get((entry.variant, version), ({}, None))
    row = compare(entry.metric, entry.estimate, entry.lower, entry.upper, _number(done.get(entry.metric)))
    update = {**row.model_dump(exclude={"metric"}), "realized_rows": rows if done else None}
    return entry.model_copy(update=update)
