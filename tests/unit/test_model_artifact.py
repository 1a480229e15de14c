"""Model artifacts: skops only, SHA-256 checked before parsing, types outside the allowlist refused."""

from __future__ import annotations

import io
import operator
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from modelsteward.domain.model_artifact import dump_model, load_model, schema_types, sha256_hex
from modelsteward.domain.training import build_pipeline, prepare_features
from modelsteward.errors import ArtifactIntegrityError
from modelsteward.spec import parse_spec
from stewardtools.datasets import credit_default

SPEC = parse_spec(
    {
        "name": "credit-default",
        "task": "binary",
        "target": "default",
        "features": {
            "numeric": ["age", "annual_income", "credit_utilization"],
            "categorical": ["home_ownership", "region"],
        },
        "estimator": {
            "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": {"max_iter": 20},
        },
    }
)


class NotAllowed(BaseEstimator, TransformerMixin):  # type: ignore[misc]  # scikit-learn ships no type hints
    def fit(self, x: Any, y: Any = None) -> NotAllowed:
        return self

    def transform(self, x: Any) -> Any:
        return x


@pytest.fixture(scope="module")
def fitted() -> tuple[Pipeline, pd.DataFrame]:
    frame = credit_default(600, seed=5)
    features = prepare_features(frame, SPEC)
    pipeline = build_pipeline(SPEC).fit(features, frame["default"].astype(str))
    return pipeline, features


def test_round_trip_predicts_the_same(fitted: tuple[Pipeline, pd.DataFrame]) -> None:
    pipeline, features = fitted
    data = dump_model(pipeline)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # a skops zip, not a pickle
        assert "schema.json" in archive.namelist()
    loaded = load_model(data, sha256_hex(data))
    np.testing.assert_allclose(loaded.predict_proba(features), pipeline.predict_proba(features))


def test_a_tampered_byte_is_refused_before_parsing(fitted: tuple[Pipeline, pd.DataFrame]) -> None:
    pipeline, _ = fitted
    data = dump_model(pipeline)
    expected = sha256_hex(data)
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        load_model(bytes(tampered), expected)


def test_a_missing_registered_digest_is_refused(fitted: tuple[Pipeline, pd.DataFrame]) -> None:
    data = dump_model(fitted[0])
    with pytest.raises(ArtifactIntegrityError, match="without a registered SHA-256"):
        load_model(data, "")


def test_a_function_outside_the_allowlist_is_refused() -> None:
    pipeline = Pipeline([("f", FunctionTransformer(func=operator.neg)), ("m", LogisticRegression())])
    pipeline.fit(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])
    data = dump_model(pipeline)
    with pytest.raises(ArtifactIntegrityError, match=r"disallowed type '_operator\.neg'"):
        load_model(data, sha256_hex(data))


def test_a_class_outside_the_allowlist_is_refused() -> None:
    pipeline = Pipeline([("custom", NotAllowed()), ("m", LogisticRegression())])
    pipeline.fit(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])
    data = dump_model(pipeline)
    assert any(name == "NotAllowed" for _, name in schema_types(data))
    with pytest.raises(ArtifactIntegrityError, match="NotAllowed"):
        load_model(data, sha256_hex(data))


def test_bytes_that_are_not_skops_are_refused() -> None:
    data = b"\x80\x04\x95not a skops file"  # e.g. a pickle
    with pytest.raises(ArtifactIntegrityError, match="not a skops file"):
        load_model(data, sha256_hex(data))
