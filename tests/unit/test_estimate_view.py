"""The estimate beside the realized value (domain.estimate_view): joined by variant and version,
awaiting labels until they come, and what the batch report and the timeline read from it."""

from __future__ import annotations

from typing import Any

import pytest

from modelsteward.domain.estimate_view import estimate_vs_realized, timeline_entry, with_realized


def _estimate(value: float, half: float, *, rows: int = 1000, trusted: bool = True) -> dict[str, Any]:
    return {
        "rows": rows,
        "metrics": {
            "roc_auc": {"value": value, "lower": value - half, "upper": value + half},
            "accuracy": {"value": 0.9, "lower": 0.88, "upper": 0.92},
        },
        "trusted": trusted,
        "trust_note": None if trusted else "too few rows of the rarer class",
        "calibration": ["beta"],
        "reference_rows": 1500,
    }


SCORED = {
    "batch_id": "ab-1234",
    "variants": {
        "challenger": {
            "version": 2,
            "primary_metric": "roc_auc",
            "estimate": _estimate(0.78, 0.03, rows=480),
        },
        "champion": {
            "version": 1,
            "primary_metric": "roc_auc",
            "estimate": _estimate(0.74, 0.02, trusted=False),
        },
    },
}
REALIZED = {
    "evaluated_at": "2026-12-07T10:00:00+00:00",
    "rows_scored": 1480,
    "rows_labeled": 1400,
    "metrics": {"roc_auc": 0.75},
    "versions": [
        {"version": 1, "variant": "champion", "rows": 950, "metrics": {"roc_auc": 0.755, "accuracy": 0.93}},
        {"version": 2, "variant": "challenger", "rows": 450, "metrics": {"roc_auc": 0.70, "accuracy": 0.9}},
    ],
}


def test_without_labels_every_metric_awaits_them() -> None:
    view = estimate_vs_realized(SCORED)
    assert view is not None and view.primary_metric == "roc_auc" and view.batch_id == "ab-1234"
    assert [v.variant for v in view.variants] == ["champion", "challenger"]
    champion = view.variants[0]
    assert champion.version == 1 and champion.realized_rows is None and not champion.trusted
    primary = champion.metrics[0]
    assert primary.metric == "roc_auc" and primary.width == pytest.approx(0.04)
    assert primary.realized is None and primary.gap is None and primary.inside_band is None


def test_labels_land_on_their_own_variant_and_version() -> None:
    view = estimate_vs_realized(SCORED, REALIZED)
    assert view is not None and view.rows_labeled == 1400
    champion, challenger = view.variants
    assert champion.realized_rows == 950 and challenger.realized_rows == 450
    auc = champion.metric("roc_auc")
    assert auc is not None and auc.realized == 0.755 and auc.gap == pytest.approx(0.015) and auc.inside_band
    accuracy = champion.metric("accuracy")
    assert accuracy is not None and accuracy.realized == 0.93 and accuracy.inside_band is False
    off = challenger.metric("roc_auc")
    assert off is not None and off.gap == pytest.approx(-0.08) and off.inside_band is False


def test_a_model_served_elsewhere_compares_all_rows_first() -> None:
    served = {
        "batch_id": "b",
        "overall": {"version": 7, "primary_metric": "roc_auc", "estimate": _estimate(0.76, 0.02)},
        "variants": {"blue": {"version": 7, "primary_metric": "roc_auc", "estimate": _estimate(0.77, 0.02)}},
    }
    realized = {"metrics": {"roc_auc": 0.765}, "rows_labeled": 300, "versions": []}
    view = estimate_vs_realized(served, realized)
    assert view is not None and [v.variant for v in view.variants] == ["model", "blue"]
    headline = view.headline()
    assert headline is not None and headline.realized_rows == 300
    assert view.variants[1].realized_rows is None  # no labels recorded for that variant


def test_no_estimate_no_view() -> None:
    assert estimate_vs_realized(None, REALIZED) is None
    assert estimate_vs_realized({"variants": {}}) is None


def test_timeline_entry_is_the_champions_primary_metric_and_takes_later_labels() -> None:
    entry = timeline_entry(estimate_vs_realized(SCORED))
    assert entry is not None
    assert entry.variant == "champion" and entry.version == 1 and entry.batch_id == "ab-1234"
    assert entry.estimate == 0.74 and entry.realized is None and entry.trusted is False
    later = with_realized(entry, REALIZED)
    assert later.realized == 0.755 and later.realized_rows == 950 and later.inside_band is True
    assert with_realized(entry, None) == entry
