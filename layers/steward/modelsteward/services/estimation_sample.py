"""The labeled reference rows kept beside an ``estimation.json``, and the estimator adjusted to a batch.

Written where the estimator is fitted (train_model: the holdout; create_baseline: a served model's
labeled reference), read where batches are estimated (score_batch, monitor_batch): each estimate's
calibration is refitted on these rows weighted to resemble the batch's inputs
(domain.shift_adjust), so a covariate shift does not make the estimate optimistic. The file holds
the spec's features only (no ids, no other columns), like holdout.parquet beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import layout
from ..domain.estimation import Estimator
from ..errors import NotFound
from ..ports import ObjectRef
from ..spec import ModelSpec
from .context import Context
from .predictions_store import PARQUET, parquet_bytes, read_parquet

log = logging.getLogger(__name__)


def write_sample(
    ctx: Context,
    spec: ModelSpec,
    estimation_key: str,
    features: Any,
    proba: np.ndarray,
    labels: Any,
    classes: Sequence[str],
) -> ObjectRef:
    """``estimation_sample.parquet`` beside ``estimation_key``: ``features`` (a frame with the spec's
    feature columns) with the model's probabilities and the labels of the same rows."""
    from ..domain.shift_adjust import sample_frame

    present = [c for c in spec.features.all if c in features.columns]
    frame = sample_frame(features[present], proba, labels, classes, seed=spec.seed)
    return ctx.store.put(
        ctx.settings.artifacts_bucket,
        layout.estimation_sample_key(estimation_key),
        parquet_bytes(frame),
        content_type=PARQUET,
    )


def read_sample(ctx: Context, estimation_key: str) -> Any | None:
    """The sample beside an estimator, None when absent (estimators written before it) or unreadable."""
    try:
        body = ctx.store.get(ctx.settings.artifacts_bucket, layout.estimation_sample_key(estimation_key)).body
    except NotFound:
        return None
    try:
        return read_parquet(body)
    except (OSError, ValueError) as exc:
        log.warning("estimation sample unreadable", extra={"key": estimation_key, "error": str(exc)[:200]})
        return None


def for_batch(estimator: Estimator, sample: Any | None, spec: ModelSpec, batch_features: Any) -> Estimator:
    """``estimator`` adjusted to ``batch_features`` (a frame of the batch's rows), or as it is
    without a sample."""
    if sample is None:
        return estimator
    from ..domain.shift_adjust import adjust_for_batch

    try:
        return adjust_for_batch(
            estimator,
            sample,
            batch_features,
            spec.features.numeric,
            spec.features.categorical,
            seed=spec.seed,
        )
    except (ValueError, np.linalg.LinAlgError) as exc:  # never lose the plain estimate for it
        log.warning("estimate not adjusted to the batch", extra={"model": spec.name, "error": str(exc)[:200]})
        return estimator
