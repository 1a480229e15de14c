"""Label join: duplicates, unmatched and invalid labels are counted; realized metrics equal sklearn's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pytest
from memory_ports import MemoryStore
from sklearn import metrics as skm

from modelsteward.domain.label_join import (
    ID,
    LABEL,
    SEGMENT_PREFIX,
    LabelSet,
    batch_windows,
    classes_from_columns,
    join_labels,
    latest_predictions,
    metric_drop,
    pool_rows,
    prepare_labels,
    realized,
    realized_by_segment,
    version_groups,
    weighted_validation,
)

T0 = pd.Timestamp("2026-03-01T00:00:00Z")


def compact(
    ids: Sequence[object],
    preds: Sequence[object],
    p1: Sequence[float],
    *,
    version: int = 1,
    variant: str = "champion",
    scored_at: pd.Timestamp = T0,
    batch_id: str = "b1",
) -> pd.DataFrame:
    p1a = np.asarray(p1, dtype=float)
    return pd.DataFrame(
        {
            "id": ids,
            "prediction": preds,
            "probability_no": 1 - p1a,
            "probability_yes": p1a,
            "model_version": version,
            "variant": variant,
            "scored_at": scored_at,
            "batch_id": batch_id,
        }
    )


def labels_frame(
    ids: Sequence[object], labels: Sequence[object], stamps: Sequence[object] | None = None
) -> pd.DataFrame:
    data = {"id": ids, "default": labels}
    if stamps is not None:
        data["timestamp"] = stamps
    return pd.DataFrame(data)


def prep(frame: pd.DataFrame, classifier: bool = True) -> LabelSet:
    return prepare_labels(
        frame, id_column="id", label_column="default", timestamp_column="timestamp", classifier=classifier
    )


# --- labels ---------------------------------------------------------------------------------------
def test_duplicate_labels_keep_the_last_by_timestamp_and_are_counted() -> None:
    frame = labels_frame(
        [1, 2, 1, 3, 1],
        ["yes", "no", "no", "yes", "yes"],
        [
            "2026-03-02T10:00Z",
            "2026-03-02T10:00Z",
            "2026-03-03T10:00Z",
            "2026-03-02T10:00Z",
            "2026-03-01T10:00Z",
        ],
    )
    labels = prep(frame)
    assert labels.duplicates == 2 and labels.invalid == 0 and labels.rows_in == 5
    by_id = dict(zip(labels.frame[ID], labels.frame[LABEL], strict=True))
    assert by_id == {"1": "no", "2": "no", "3": "yes"}  # id 1: the 03-03 label wins although not last in file


def test_without_timestamps_the_last_row_in_the_file_wins() -> None:
    labels = prep(labels_frame(["a", "a", "b"], ["yes", "no", "no"]))
    assert labels.duplicates == 1
    assert dict(zip(labels.frame[ID], labels.frame[LABEL], strict=True)) == {"a": "no", "b": "no"}


def test_rows_without_id_or_label_are_counted_and_kept_aside() -> None:
    labels = prep(labels_frame(["a", None, "c"], ["yes", "no", None]))
    assert labels.invalid == 2 and len(labels.frame) == 1
    assert len(labels.invalid_rows) == 2


def test_numeric_labels_and_ids_compare_as_strings() -> None:
    labels = prep(labels_frame([1.0, 2.0], [1.0, 0.0]))
    assert list(labels.frame[ID]) == ["1", "2"] and list(labels.frame[LABEL]) == ["1", "0"]


# --- join -----------------------------------------------------------------------------------------
def test_unmatched_labels_are_counted_and_returned() -> None:
    preds, dups = latest_predictions([compact([1, 2, 3], ["yes", "no", "no"], [0.8, 0.3, 0.1])])
    labels = prep(labels_frame([1, 2, 99, 98, 2], ["yes", "yes", "no", "no", "no"]))
    joined = join_labels(labels, preds, dups)
    assert joined.counts == {
        "label_rows": 5,
        "invalid": 0,
        "duplicates": 1,
        "unique_labels": 4,
        "matched": 2,
        "unmatched": 2,
        "prediction_duplicates": 0,
    }
    assert sorted(joined.unmatched[ID]) == ["98", "99"]
    # every label row is accounted for
    c = joined.counts
    assert c["matched"] + c["unmatched"] + c["duplicates"] + c["invalid"] == c["label_rows"]


def test_join_spans_batches_and_uses_the_newest_prediction_of_an_id() -> None:
    old = compact([1, 2], ["no", "no"], [0.2, 0.1], batch_id="old", scored_at=T0)
    new = compact(
        [2, 3], ["yes", "yes"], [0.9, 0.7], version=2, batch_id="new", scored_at=T0 + pd.Timedelta(days=1)
    )
    preds, dups = latest_predictions([old, new])
    assert dups == 1
    joined = join_labels(prep(labels_frame([1, 2, 3], ["no", "yes", "yes"])), preds, dups)
    rows = joined.matched.set_index(ID)
    assert rows.loc["2", "batch_id"] == "new" and rows.loc["1", "batch_id"] == "old"
    assert [(v, var, len(r)) for v, var, r in version_groups(joined.matched)] == [
        (1, "champion", 1),
        (2, "champion", 2),
    ]


def test_no_predictions_means_everything_unmatched() -> None:
    preds, dups = latest_predictions([])
    joined = join_labels(prep(labels_frame([1, 2], ["yes", "no"])), preds, dups)
    assert joined.counts["matched"] == 0 and joined.counts["unmatched"] == 2


# --- realized metrics pinned against scikit-learn -------------------------------------------------
def test_realized_classification_metrics_equal_sklearns() -> None:
    rng = np.random.default_rng(0)
    n = 400
    p1 = rng.random(n)
    truth = np.where(rng.random(n) < p1, "yes", "no")
    pred = np.where(p1 > 0.5, "yes", "no")
    preds, _ = latest_predictions([compact(list(range(n)), list(pred), list(p1))])
    joined = join_labels(prep(labels_frame(list(range(n)), list(truth))), preds)
    got = realized(joined.matched, "binary", ["no", "yes"])
    order = joined.matched[ID].astype(int).to_numpy()
    yt, yp, pp = truth[order], pred[order], p1[order]
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(yt, yp))
    assert got["precision"] == pytest.approx(skm.precision_score(yt, yp, pos_label="yes"))
    assert got["recall"] == pytest.approx(skm.recall_score(yt, yp, pos_label="yes"))
    assert got["f1"] == pytest.approx(skm.f1_score(yt, yp, pos_label="yes"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(yt == "yes", pp))
    assert got["log_loss"] == pytest.approx(
        skm.log_loss(yt, np.column_stack([1 - pp, pp]), labels=["no", "yes"])
    )


def test_realized_regression_metrics_equal_sklearns() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 200)
    yhat = y + rng.normal(0, 1, 200)
    preds = pd.DataFrame(
        {
            "id": range(200),
            "prediction": yhat,
            "model_version": 1,
            "variant": "champion",
            "scored_at": T0,
            "batch_id": "b",
        }
    )
    latest, _ = latest_predictions([preds])
    joined = join_labels(prep(labels_frame(list(range(200)), list(y)), classifier=False), latest)
    got = realized(joined.matched, "regression", None)
    order = joined.matched[ID].astype(int).to_numpy()
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y[order], yhat[order]))
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y[order], yhat[order]))
    assert got["r2"] == pytest.approx(skm.r2_score(y[order], yhat[order]))


def test_segments_come_from_the_compact_copy() -> None:
    n = 200
    frame = compact(list(range(n)), ["yes"] * n, [0.9] * n)
    frame[SEGMENT_PREFIX + "region"] = ["north"] * 100 + ["south"] * 100
    latest, _ = latest_predictions([frame])
    truth = ["yes"] * 100 + ["no"] * 100
    joined = join_labels(prep(labels_frame(list(range(n)), truth)), latest)
    seg = realized_by_segment(joined.matched, ["region"], "binary", ["no", "yes"])
    assert seg["region"]["north"]["accuracy"] == 1.0 and seg["region"]["south"]["accuracy"] == 0.0


def test_classes_from_columns() -> None:
    assert classes_from_columns(["id", "probability_b", "probability_a"]) == ["a", "b"]
    assert classes_from_columns(["probability_b", "probability_a"], ["b", "a"]) == ["b", "a"]


# --- drop and validation --------------------------------------------------------------------------
def test_drop_is_positive_when_worse_whatever_the_direction() -> None:
    assert metric_drop(0.80, 0.90, greater_is_better=True) == pytest.approx(0.10)
    assert metric_drop(0.50, 0.40, greater_is_better=False) == pytest.approx(0.10)  # log loss rose
    assert metric_drop(None, 0.9, greater_is_better=True) is None


def test_weighted_validation_of_the_versions_that_served() -> None:
    assert weighted_validation([(1, 100), (2, 300)], {1: 0.8, 2: 0.9}) == pytest.approx(0.875)
    assert weighted_validation([(1, 100), (3, 300)], {1: 0.8, 3: None}) == pytest.approx(0.8)
    assert weighted_validation([(3, 10)], {3: None}) is None


# --- late labels and the pool ---------------------------------------------------------------------
def test_batch_windows_of_late_labels() -> None:
    a = compact([1, 2], ["yes", "no"], [0.9, 0.1], batch_id="a", scored_at=T0)
    b = compact([3], ["yes"], [0.9], batch_id="b", scored_at=T0 + pd.Timedelta(days=2, hours=5))
    latest, _ = latest_predictions([a, b])
    joined = join_labels(prep(labels_frame([1, 2, 3], ["yes", "no", "no"])), latest)
    windows = batch_windows(joined.matched, "day")
    assert [(b["batch_id"], b["matched"]) for b in windows["batches"]] == [("a", 2), ("b", 1)]
    assert [(w["start"][:10], w["matched"]) for w in windows["windows"]] == [
        ("2026-03-01", 2),
        ("2026-03-03", 1),
    ]


def test_pool_rows_take_features_from_inference_rows() -> None:
    latest, _ = latest_predictions([compact([1, 2, 3], ["yes", "no", "no"], [0.9, 0.2, 0.1])])
    joined = join_labels(prep(labels_frame([1, 2, 3], ["yes", "no", "yes"])), latest)
    inference = pd.DataFrame(
        {
            "id": [1, 2],
            "timestamp": [T0, T0],
            "income": [10.0, 20.0],
            "region": ["n", "s"],
            "prediction": ["yes", "no"],
        }
    )
    rows, missing = pool_rows(
        joined.matched,
        inference,
        id_column="id",
        timestamp_column="timestamp",
        features=["income", "region"],
        target="default",
    )
    assert missing == 1  # id 3 has no stored inference row
    assert list(rows.columns) == ["id", "timestamp", "income", "region", "default"]
    assert rows.set_index("id").loc[2, "default"] == "no"


# --- which prediction files a label upload reads ---------------------------------------------------
class _ListingStore(MemoryStore):
    """Only the keys (empty bodies), in the artifacts bucket the tests list."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        for key in keys:
            self.put("artifacts", key, b"")


def test_window_files_use_day_markers_newest_first() -> None:
    import datetime as dt

    from modelsteward.services.predictions_store import window_files

    store = _ListingStore(
        [
            "predictions/credit/old.parquet",
            "predictions/credit/_index/2026-01-01/old",
            "predictions/credit/mid.parquet",
            "predictions/credit/_index/2026-02-20/mid",
            "predictions/credit/new.parquet",
            "predictions/credit/_index/2026-03-01/new",
            "predictions/credit/foreign.parquet",  # written without a marker: not found (no full listing)
            "predictions/credit-two/x.parquet",  # another model sharing the prefix text
        ]
    )
    listed: list[str] = []
    original = store.list_keys

    def spy(bucket: str, prefix: str) -> Iterator[str]:
        listed.append(prefix)
        return original(bucket, prefix)

    store.list_keys = spy  # type: ignore[method-assign]
    files = window_files(store, "artifacts", "credit", dt.datetime(2026, 2, 15, tzinfo=dt.UTC))
    assert files.keys == ["predictions/credit/new.parquet", "predictions/credit/mid.parquet"]
    assert files.skipped_old == 1 and files.unindexed == []
    assert listed == ["predictions/credit/_index/"]  # the markers, never the prediction files


def test_window_files_by_event_day_read_only_the_labels_partitions() -> None:
    import datetime as dt

    import pandas as pd

    from modelsteward.services.predictions_store import label_days, window_files

    store = _ListingStore(
        [
            "predictions/credit/_index/2026-03-02/a",
            "predictions/credit/_index/2026-03-02/b",
            "predictions/credit/_index/2026-03-02/c",
            "predictions/credit/_events/2026-03-01/a",
            "predictions/credit/_events/2026-02-10/b",
            "predictions/credit/_events/2026-03-02/c",
        ]
    )
    days = label_days(pd.Series(pd.to_datetime(["2026-03-01T10:00:00Z"], utc=True)))
    assert days == ["2026-02-28", "2026-03-01", "2026-03-02"]
    files = window_files(store, "artifacts", "credit", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), days)
    assert sorted(files.keys) == ["predictions/credit/a.parquet", "predictions/credit/c.parquet"]
    assert label_days(pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")) is None
