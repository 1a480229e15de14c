"""The compact prediction copies kept for the label join, and how they are found again.

Written by score_batch (suite-scored models) and by monitor_batch's accept path for every inference
batch the suite did not score (bring your own model, services.byom). Artifacts bucket:

    predictions/<model>/<batch_id>.parquet             id, timestamp, prediction, probability_<class>...,
                                                       model_version, variant, scored_at, batch_id,
                                                       segment_<column>...
    predictions/<model>/_index/<YYYY-MM-DD>/<batch_id>  empty marker: the day the batch was scored
    predictions/<model>/_events/<YYYY-MM-DD>/<batch_id> empty marker: each day of *event time* its
                                                       rows cover (only when rows carry a timestamp)

The label join never lists the prediction files themselves: it finds them through the markers.

* Labels with timestamps (the spec's timestamp column: the event time of the row they judge) read
  only the batches whose ``_events/<day>/`` partition holds one of the label days (+-1 day for time
  zones): one LIST per label day, then the ``id`` column of those batches.
* Labels without timestamps (SageMaker ground truth carries only the event id) fall back to the
  retraining window by scoring day: one paged LIST of ``_index/`` (1,000 keys per page) and the ``id``
  column of every batch in the window.

Cost for a year of hourly batches (8,760 batches, see docs/model-quality.md): a label file with a day
of timestamps lists 3 ``_events/`` partitions and reads the ids of ~72 batches; without timestamps
it lists ~9 pages of ``_index/`` and reads the ids of the window's batches (90 days: 2,160).
A prediction file without markers (written by hand) is not found: write it with
:func:`write_predictions`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..layout import (
    predictions_event_key,
    predictions_event_prefix,
    predictions_index_key,
    predictions_index_prefix,
    predictions_key,
)
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
    """Write the compact copy, then its markers (a marker never points at a missing file)."""
    ref = store.put(bucket, predictions_key(model, batch_id), parquet_bytes(frame), content_type=PARQUET)
    for day in event_days(frame):
        store.put(bucket, predictions_event_key(model, day, batch_id), b"", content_type="text/plain")
    day = scored_at.astimezone(dt.UTC).date().isoformat()
    store.put(bucket, predictions_index_key(model, day, batch_id), b"", content_type="text/plain")
    return ref


MAX_EVENT_DAYS = 31  # a batch spanning more days of event time is found by its scoring day only


def event_days(frame: pd.DataFrame, column: str = "timestamp") -> list[str]:
    """The UTC days of event time the rows cover (empty without a timestamp column)."""
    if column not in frame.columns or not len(frame):
        return []
    stamps = pd.to_datetime(frame[column], utc=True, errors="coerce").dropna()
    days = sorted({d.isoformat() for d in stamps.dt.date.unique()})
    return days if len(days) <= MAX_EVENT_DAYS else []


def label_days(stamps: pd.Series, slack_days: int = 1) -> list[str] | None:
    """Event-time partitions to search for labels with these timestamps; None when any is missing."""
    if not len(stamps) or stamps.isna().any():
        return None
    days: set[dt.date] = set()
    for d in pd.to_datetime(stamps, utc=True).dt.date.unique():
        for k in range(-slack_days, slack_days + 1):
            days.add(d + dt.timedelta(days=k))
    return sorted(day.isoformat() for day in days)


@dataclass
class PredictionFiles:
    """The prediction files a label join reads, newest scoring day first."""

    keys: list[str]
    skipped_old: int = 0
    truncated: int = 0
    unindexed: list[str] = field(default_factory=list)


def window_files(
    store: ObjectStore,
    bucket: str,
    model: str,
    since: dt.datetime,
    days: Sequence[str] | None = None,
) -> PredictionFiles:
    """Prediction files of ``model`` scored on or after ``since``'s day, newest first.

    Found by the markers only (never by listing the prediction files). With ``days`` (event-time
    days of the labels, see :func:`label_days`), only the batches filed under those ``_events/``
    partitions are candidates.
    """
    prefix = predictions_key(model, "x").rsplit("/", 1)[0] + "/"  # predictions/<model>/
    index_prefix = predictions_index_prefix(model)
    scored: dict[str, str] = {}
    for key in store.list_keys(bucket, index_prefix):
        day, _, batch_id = key.removeprefix(index_prefix).partition("/")
        if batch_id:
            scored[batch_id] = max(day, scored.get(batch_id, ""))
    wanted: set[str] | None = None
    if days is not None:
        wanted = set()
        event_prefix = predictions_event_prefix(model)
        for day in days:
            for key in store.list_keys(bucket, f"{event_prefix}{day}/"):
                wanted.add(key.rsplit("/", 1)[-1])
    first_day = since.astimezone(dt.UTC).date().isoformat()
    dated: list[tuple[str, str]] = []
    skipped = 0
    for batch_id, scored_day in scored.items():
        if wanted is not None and batch_id not in wanted:
            continue
        if scored_day >= first_day:
            dated.append((scored_day, f"{prefix}{batch_id}.parquet"))
        else:
            skipped += 1
    dated.sort(reverse=True)
    keys = [k for _, k in dated]
    truncated = max(0, len(keys) - MAX_PREDICTION_FILES)
    return PredictionFiles(keys=keys[:MAX_PREDICTION_FILES], skipped_old=skipped, truncated=truncated)
