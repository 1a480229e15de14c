"""Build a baseline from a reference table: the summaries, the noise bands and the row sample.

Apart from domain/baseline.py (the record and its binning) because the noise bands score with the
drift methods, which read the baseline record: record -> drift -> noise -> builder, no cycle.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from ..clock import utcnow
from ..errors import BatchRejected
from ..spec import ModelSpec
from .baseline import (
    PARALLEL_ROWS,
    SAMPLE_ROWS,
    Baseline,
    CategoricalBaseline,
    MonitoredColumn,
    NumericBaseline,
    ReferenceSample,
    bins_fingerprint,
    build_categorical,
    build_numeric,
    category_codes,
    dictionary_encoded,
    monitored_columns,
    numeric_summary,
    sample_rows,
    spec_fingerprint,
    value_counts,
)
from .noise import categorical_band, numeric_band


def _normalized_importance(features: Sequence[str], given: Mapping[str, float] | None) -> dict[str, float]:
    if given:
        raw = {f: max(0.0, float(given.get(f, 0.0))) for f in features}
        raw = {f: (v if math.isfinite(v) else 0.0) for f, v in raw.items()}
        total = sum(raw.values())
        if total > 0:
            return {f: v / total for f, v in raw.items()}
    return {f: 1.0 / len(features) for f in features} if features else {}


def build_baseline(
    table: pa.Table,
    spec: ModelSpec,
    *,
    feature_importance: Mapping[str, float] | None = None,
    sources: Sequence[Mapping[str, Any]] = (),
    model_version: int | None = None,
    seed: int = 0,
    created_at: str | None = None,
) -> Baseline:
    """Compute a baseline from a conformed reference/training table (PII policy already applied)."""
    cols = monitored_columns(spec, table.column_names)
    missing_features = [f for f in spec.features.all if f not in table.column_names]
    if missing_features:
        raise BatchRejected(f"reference data lacks feature columns {missing_features}")
    if table.num_rows == 0:
        raise BatchRejected("reference data has no rows")

    def one(i: int, col: MonitoredColumn) -> NumericBaseline | CategoricalBaseline:
        rng = np.random.default_rng([seed, i])  # per column: the same bands whatever runs in parallel
        if col.data_type == "numeric":
            summary = numeric_summary(table.column(col.name))
            num_base = build_numeric(summary, col.role)
            return num_base.model_copy(update={"noise": numeric_band(summary.finite, num_base, rng)})
        encoded = dictionary_encoded(table.column(col.name))  # once for the counts and the codes
        cat_base = build_categorical(value_counts(encoded), col.role)
        codes = category_codes(encoded, cat_base.categories)
        return cat_base.model_copy(update={"noise": categorical_band(codes, cat_base, rng)})

    # numpy's sort and binning release the GIL: columns in parallel, as profile_batch does
    workers = min(2, os.cpu_count() or 1, len(cols))
    if workers > 1 and table.num_rows >= PARALLEL_ROWS:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            built = list(pool.map(one, range(len(cols)), cols))
    else:
        built = [one(i, col) for i, col in enumerate(cols)]
    columns: dict[str, NumericBaseline | CategoricalBaseline] = {
        c.name: b for c, b in zip(cols, built, strict=True)
    }
    numeric = [c.name for c in cols if c.role == "feature" and c.data_type == "numeric"]
    categorical = [c.name for c in cols if c.role == "feature" and c.data_type == "categorical"]
    num, cat = sample_rows(table, numeric, categorical, SAMPLE_ROWS, seed)
    sample = ReferenceSample(
        rows=min(SAMPLE_ROWS, table.num_rows),
        numeric={c: [None if math.isnan(v) else v for v in a.tolist()] for c, a in num.items()},
        categorical=cat,
    )
    return Baseline(
        model=spec.name,
        model_version=model_version,
        spec_fingerprint=spec_fingerprint(spec),
        created_at=created_at or utcnow().isoformat(timespec="seconds"),
        rows=table.num_rows,
        columns=columns,
        feature_importance=_normalized_importance(spec.features.all, feature_importance),
        sample=sample,
        sources=[dict(s) for s in sources],
        fingerprint=bins_fingerprint(columns),
    )
