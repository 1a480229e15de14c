"""A/B routing: which variant (champion or challenger) scores a row.

The decision is a pure function of (model, row id): ``u = sha256(model + ":" + id)`` read as a
uniform number in [0, 1), challenger when ``u < traffic_share``. No state, no random seed, so the
same row lands on the same variant on every retry, in every process and on every machine, and a
label arriving weeks later can be attributed to the variant that really scored it. Raising the
share only moves rows from champion to challenger (the set with ``u < s`` grows with ``s``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

Variant = Literal["champion", "challenger"]
CHAMPION: Variant = "champion"
CHALLENGER: Variant = "challenger"

_SCALE = float(2**64)


def normalize_ids(ids: Iterable[Any] | pd.Series) -> pd.Series:
    """Row ids as canonical strings, so 42, 42.0 (a CSV column with a gap) and "42" are one id.

    Used by routing and by the label join: both must agree on a row's identity.
    """
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        if finite.any() and np.all(np.mod(values[finite], 1.0) == 0):
            series = series.astype("Int64")
    out = series.astype("string").astype(object)
    return out.where(series.notna(), None).reset_index(drop=True)


def routing_score(model: str, row_id: Any) -> float:
    """The row's stable uniform number in [0, 1) for this model."""
    return _score(model, str(normalize_ids([row_id]).iloc[0]))


def _score(model: str, key: str) -> float:
    digest = hashlib.sha256(f"{model}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def routing_scores(model: str, ids: Iterable[Any] | pd.Series) -> np.ndarray:
    """Vectorised ``routing_score`` over many ids (about 1 s per million on one core)."""
    keys: Sequence[Any] = normalize_ids(ids).tolist()
    return np.fromiter(
        (_score(model, "" if k is None else k) for k in keys), dtype="float64", count=len(keys)
    )


def challenger_mask(model: str, ids: Iterable[Any] | pd.Series, traffic_share: float) -> np.ndarray:
    """Boolean array: True where the challenger scores the row."""
    if not 0.0 <= traffic_share <= 1.0:
        raise ValueError(f"traffic_share must be within [0, 1], got {traffic_share}")
    keys = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    if traffic_share == 0.0 or len(keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    return routing_scores(model, keys) < traffic_share


def assign_variants(model: str, ids: Iterable[Any] | pd.Series, traffic_share: float) -> np.ndarray:
    """Variant name per row (object array of "champion" / "challenger")."""
    mask = challenger_mask(model, ids, traffic_share)
    return np.where(mask, CHALLENGER, CHAMPION).astype(object)
