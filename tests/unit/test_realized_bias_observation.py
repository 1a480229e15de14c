"""The realized_bias observation evaluate_labels folds into the episode book."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from modelsteward.services.episodes import realized_bias_observation

NOW = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)
CTX: Any = SimpleNamespace(clock=lambda: NOW)


def _fairness(verdict: str, parity: float | None) -> dict[str, Any]:
    return {
        "breach": verdict == "breached",
        "verdict": verdict,
        "bounds": {"demographic_parity_difference": 0.1, "disparate_impact_ratio": 0.8},
        "values": {"demographic_parity_difference": parity, "disparate_impact_ratio": 0.5},
        "groups": {
            "sex": {
                "F": {"n": 400, "selection_rate": 0.2, "true_positive_rate": 0.3, "metric": 0.8},
                "M": {"n": 600, "selection_rate": 0.4, "true_positive_rate": 0.6, "metric": 0.9},
            }
        },
    }


def test_a_breaching_label_batch_is_a_breach_with_group_level_evidence() -> None:
    obs = realized_bias_observation(
        CTX,
        "labels-7",
        _fairness("breached", 0.2),
        ("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"),
    )
    assert obs is not None and obs.breached
    assert (obs.value, obs.threshold) == (0.2, 0.1)  # the committed difference, not the ratio
    assert obs.event_time == "2026-03-02T00:00:00+00:00" and obs.data_from == "2026-03-01T00:00:00+00:00"
    assert obs.evidence == (
        "selection rate by sex: F 0.2, M 0.4; demographic parity difference 0.2 (bound 0.1); "
        "disparate impact ratio 0.5 (bound 0.8)"
    )


def test_a_held_batch_is_clean_and_an_unjudged_one_is_no_evidence() -> None:
    held = realized_bias_observation(CTX, "labels-8", _fairness("held", 0.05))
    assert held is not None and not held.breached and held.event_time == "2026-03-04T12:00:00+00:00"
    assert realized_bias_observation(CTX, "labels-9", _fairness("unjudged", None)) is None
    assert realized_bias_observation(CTX, "labels-9", None) is None
