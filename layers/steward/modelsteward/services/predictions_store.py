"""The compact prediction copies score_batch keeps for the label join, and how they are found again.

Artifacts bucket, written only by the suite:

    predictions/<model>/<batch_id>.parquet            id, timestamp, prediction, probability_<class>...,
                                                      model_version, variant, scored_at, batch_id,
                                                      segment_<column>...
    predictions/<model>/_index/<YYYY-MM-DD>/<batch_id> empty marker: the day the batch was scored

The marker lets evaluate_labels choose the files of the retraining window from one listing,
without reading a byte of them (the ObjectStore port lists keys, not dates). A prediction file
without a marker (written by another tool) is read and filtered by its ``scored_at`` column.

Limit: a label upload reads the ``id`` column of every prediction file in the window, then the
rest of the files that matched. At about a million scored rows a day and a 90-day window that is
~90 M ids per label upload; beyond that, shorten ``retrain.training_window_days`` or partition
labels by scoring day (see docs/model-quality.md).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..layout import predictions_index_key, predictions_index_prefix, predictions_key
from ..ports import ObjectRef, ObjectStore

PARQUET = "application/vnd.apache.parquet"
MAX_PREDICTION_FILES = 5000  # per label upload; more is recorded as truncated in quality.json


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def read_parquet(body: bytes, columns: Sequence[str] | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(io.BytesIO(body))
    if columns is not None:
        present = set(pf.schema_arrow.names)
        columns = [c for c in columns if c in present]
    return pf.read(columns=list(columns) if columns is not None else None).to_pandas()


def write_predictions(
    store: ObjectStore, bucket: str, model: str, batch_id: str, frame: pd.DataFrame, scored_at: dt.datetime
) -> ObjectRef:
    """Write the compact copy, then its day marker (a marker never points at a missing file)."""
    ref = store.put(bucket, predictions_key(model, batch_id), parquet_bytes(frame), content_type=PARQUET)
    day = scored_at.astimezone(dt.UTC).date().isoformat()
    store.put(bucket, predictions_index_key(model, day, batch_id), b"", content_type="text/plain")
    return ref


@dataclass
class PredictionFiles:
    """The prediction files a label join reads, newest scoring day first."""

    keys: list[str]
    skipped_old: int = 0
    truncated: int = 0
    unindexed: list[str] = field(default_factory=list)


def window_files(store: ObjectStore, bucket: str, model: str, since: dt.datetime) -> PredictionFiles:
    """Prediction files of ``model`` scored on or after ``since``'s day (by the day markers)."""
    prefix = predictions_key(model, "x").rsplit("/", 1)[0] + "/"  # predictions/<model>/
    index_prefix = predictions_index_prefix(model)
    days: dict[str, str] = {}
    files: list[str] = []
    for key in store.list_keys(bucket, prefix):
        if key.startswith(index_prefix):
            day, _, batch_id = key.removeprefix(index_prefix).partition("/")
            if batch_id:
                days[batch_id] = max(day, days.get(batch_id, ""))
        elif key.endswith(".parquet") and "/" not in key.removeprefix(prefix):
            files.append(key)
    first_day = since.astimezone(dt.UTC).date().isoformat()
    dated: list[tuple[str, str]] = []
    unindexed: list[str] = []
    skipped = 0
    for key in files:
        batch_id = key.removeprefix(prefix).removesuffix(".parquet")
        scored_day = days.get(batch_id)
        if scored_day is None:
            unindexed.append(key)
        elif scored_day >= first_day:
            dated.append((scored_day, key))
        else:
            skipped += 1
    dated.sort(reverse=True)
    keys = [k for _, k in dated] + sorted(unindexed)
    truncated = max(0, len(keys) - MAX_PREDICTION_FILES)
    return PredictionFiles(
        keys=keys[:MAX_PREDICTION_FILES], skipped_old=skipped, truncated=truncated, unindexed=unindexed
    )
