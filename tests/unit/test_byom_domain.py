"""domain.byom: the label join's copy of a batch the suite did not score, and what a reference lacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from narrowing import present

from modelsteward.domain.byom import check_reference, compact_rows, probability_matrix, versions_and_variants
from modelsteward.services.byom import scored_by_suite
from modelsteward.spec import ModelSpec, parse_spec


def _spec(**extra: object) -> ModelSpec:
    doc = {
        "name": "m",
        "task": "binary",
        "target": "y",
        "features": {"numeric": ["a"], "categorical": ["seg"]},
        "segments": ["seg"],
        "probability_column": "probability",
        "classes": ["no", "yes"],
        **extra,
    }
    return parse_spec(doc)


def test_binary_probability_column_is_the_positive_class() -> None:
    frame = pd.DataFrame({"probability": [0.2, 0.9]})
    assert present(probability_matrix(frame, _spec(), ["no", "yes"])).tolist() == [
        [0.8, 0.2],
        [pytest.approx(0.1), 0.9],
    ]
    per_class = pd.DataFrame({"probability_no": [0.3], "probability_yes": [0.7]})
    assert present(probability_matrix(per_class, _spec(), ["no", "yes"])).tolist() == [[0.3, 0.7]]
    assert probability_matrix(pd.DataFrame({"x": [1]}), _spec(), ["no", "yes"]) is None


def test_versions_and_variants_default_when_the_batch_names_none() -> None:
    versions, variants = versions_and_variants(None, 2)
    assert versions.tolist() == [0, 0] and variants.tolist() == ["champion", "champion"]
    raw = pd.DataFrame({"model_version": ["v3", None], "variant": ["blue", ""]})
    versions, variants = versions_and_variants(raw, 2)
    assert versions.tolist() == [3, 0] and variants.tolist() == ["blue", "champion"]


def test_compact_rows_carry_what_the_label_join_reads() -> None:
    frame = pd.DataFrame(
        {
            "id": ["1", "2", None],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-02"], utc=True),
            "a": [1.0, 2.0, 3.0],
            "seg": ["x", "y", "x"],
            "prediction": ["yes", "no", "no"],
            "probability": [0.9, 0.1, 0.2],
        }
    )
    variants = np.array(["a", "a", "a"], dtype=object)
    out = compact_rows(
        frame,
        _spec(),
        classes=["no", "yes"],
        versions=np.array([1, 1, 1]),
        variants=variants,
        scored_at=pd.Timestamp("2026-01-03", tz="UTC"),
        batch_id="b",
    )
    assert list(out["id"]) == ["1", "2"]  # a row without an id cannot be joined
    assert {"probability_no", "probability_yes", "segment_seg", "timestamp", "batch_id"} <= set(out.columns)
    assert out["probability_yes"].tolist() == [0.9, 0.1]


def test_check_reference_names_what_is_lost_and_how_to_fix_it() -> None:
    full = pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "seg": ["x", "y"],
            "prediction": ["yes", "no"],
            "probability": [0.8, 0.3],
            "y": ["yes", "no"],
        }
    )
    ok = check_reference(full, _spec())
    assert ok.can_estimate and ok.warnings == [] and ok.classes == ["no", "yes"]
    bare = check_reference(full.drop(columns=["y", "probability"]), _spec(probability_column=None))
    assert not bare.can_estimate
    text = " ".join(bare.warnings)
    assert "'y'" in text and "probability_column" in text and "EstimatedPrimaryMetric" in text


def test_only_the_scorers_own_inference_file_counts_as_scored_by_the_suite() -> None:
    assert scored_by_suite("m", "inference/m/b1-abc.parquet", {"batch-id": "b1-abc"})
    assert not scored_by_suite("m", "inference/m/b1-abc.parquet", {})
    assert not scored_by_suite("m", "inference/m/other.parquet", {"batch-id": "b1-abc"})
