"""The drop of the primary metric that breaches, from the spread a version earned on its holdout.

No numpy: every function that judges a batch (and handle_alarm, through services.episodes) reads
these, while the bootstrap that measures the spread (domain.performance_bands) runs at training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..spec import PerformanceAlert

RESAMPLES = 200


class MetricNoise(BaseModel):
    """The primary metric's spread over bootstrap resamples of the holdout (stored per version)."""

    model_config = ConfigDict(extra="ignore")

    metric: str
    sd: float
    n: int
    mean: float | None = None
    resamples: int = RESAMPLES

    def sd_at(self, rows: int) -> float:
        """The standard deviation expected at a batch of ``rows`` rows."""
        return self.sd * math.sqrt(self.n / max(1, rows))

    @classmethod
    def from_row(cls, raw: Mapping[str, Any] | None) -> MetricNoise | None:
        if not raw:
            return None
        try:
            return cls.model_validate(raw)
        except ValueError:
            return None


def drop_threshold(
    alert: PerformanceAlert, noise: MetricNoise | None, rows: int, *, against_validation: bool
) -> tuple[float, str]:
    """(the drop that breaches at a batch of ``rows`` rows, how it was set) for the email and report.

    ``against_validation``: the drop compares a realized value with the validation score, whose own
    error adds to the batch's (see the module docstring)."""
    if alert.drop_threshold is not None:
        return alert.drop_threshold, "set in the spec (alerts.*.drop_threshold)"
    if noise is None or rows <= 0:
        return alert.max_drop, "fixed (no holdout spread stored for this version)"
    sd = noise.sd_at(rows)
    if against_validation:
        sd = math.hypot(sd, noise.sd)
    earned = alert.sigmas * sd
    bounded = min(alert.max_drop, max(alert.min_drop, earned))
    how = (
        f"{alert.sigmas:g} sd of the {noise.metric} drop at {rows} rows ({earned:.4f}; holdout spread "
        f"{noise.sd:.4f} at {noise.n} rows)"
    )
    if bounded != earned:
        how += f", bounded to [{alert.min_drop:g}, {alert.max_drop:g}]"
    return bounded, how
