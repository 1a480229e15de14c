"""domain.training: the pipeline the spec declares, validated early, reproducible, with honest evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

from modelsteward.domain.metrics import task_metrics
from modelsteward.domain.training import (
    build_estimator,
    build_pipeline,
    predict,
    prepare_features,
    train,
)
from modelsteward.errors import InvalidInput, SpecError
from modelsteward.spec import ModelSpec, parse_spec
from stewardtools.datasets import credit_default, house_price, product_category

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def example(name: str, **estimator: Any) -> ModelSpec:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    if estimator:
        data["estimator"] = estimator
    return parse_spec(data)


FAST_HGB = {
    "class_path": "sklearn.ensemble.HistGradientBoostingClassifier",
    "params": {"max_iter": 40, "early_stopping": False},
}


def test_linear_models_get_scaled_numeric_features() -> None:
    spec = example("product-category")
    pre: ColumnTransformer = build_pipeline(spec).named_steps["preprocess"]
    numeric = dict((name, t) for name, t, _ in pre.transformers)["numeric"]
    assert isinstance(numeric.named_steps["scale"], StandardScaler)


def test_trees_that_handle_missing_values_get_raw_numeric_features() -> None:
    pre = build_pipeline(example("credit-default")).named_steps["preprocess"]
    assert dict((name, t) for name, t, _ in pre.transformers)["numeric"] == "passthrough"


def test_trees_without_missing_value_support_get_an_imputer_but_no_scaler() -> None:
    spec = example("house-price", class_path="sklearn.ensemble.GradientBoostingRegressor", params={})
    numeric = dict((n, t) for n, t, _ in build_pipeline(spec).named_steps["preprocess"].transformers)[
        "numeric"
    ]
    assert type(numeric).__name__ == "SimpleImputer"


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        ({"class_path": "sklearn.nothing_here.Model"}, "does not exist"),
        ({"class_path": "sklearn.linear_model.NoSuchModel"}, "not a scikit-learn estimator"),
        ({"class_path": "sklearn.linear_model.LinearRegression"}, "not a classifier"),
        (
            {"class_path": "sklearn.linear_model.LogisticRegression", "params": {"depth": 3}},
            "estimator.params: 'depth' is not a parameter",
        ),
        (
            {"class_path": "sklearn.linear_model.LogisticRegression", "params": {"C": "big"}},
            "estimator.params.C",
        ),
    ],
)
def test_bad_estimators_fail_with_the_field_named(estimator: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build_estimator(example("credit-default", **estimator))


def test_a_classifier_for_a_regression_task_is_refused() -> None:
    with pytest.raises(SpecError, match="not a regressor"):
        build_estimator(example("house-price", class_path="sklearn.linear_model.LogisticRegression"))


def test_the_spec_seed_is_the_estimator_seed_unless_given() -> None:
    spec = example("credit-default")
    assert build_estimator(spec).random_state == spec.seed


def test_prepare_features_accepts_nullable_pandas_dtypes() -> None:
    spec = example("credit-default")
    frame = credit_default(50, seed=1)
    frame["region"] = frame["region"].astype("string")
    frame.loc[0, "region"] = pd.NA
    frame["age"] = frame["age"].astype("Int64")
    frame.loc[1, "age"] = pd.NA
    prepared = prepare_features(frame, spec)
    assert prepared["age"].dtype == np.float64 and np.isnan(prepared.loc[1, "age"])
    assert prepared["region"].dtype == object and prepared["region"].isna().iloc[0]
    assert list(prepared.columns) == spec.features.all


def test_binary_training_is_reproducible_and_reports_evidence() -> None:
    spec = example("credit-default", **FAST_HGB).model_copy(update={"holdout_split": "random"})
    frame = credit_default(3000, seed=2)
    first = train(spec, frame)
    second = train(spec, frame)
    assert first.metrics == second.metrics
    assert first.feature_importance == second.feature_importance
    assert first.classes == ["0", "1"]
    assert first.metrics["roc_auc"] > 0.7
    assert first.n_holdout == 750 and first.n_train == 2250
    # stratified: the holdout keeps the positive rate
    rate = (first.holdout["default"] == "1").mean()
    assert abs(rate - (frame["default"] == 1).mean()) < 0.01
    # importance: original feature names, normalized, the real drivers on top
    imp = first.feature_importance
    assert set(imp) == set(spec.features.all)
    assert sum(imp.values()) == pytest.approx(1.0)
    assert max(imp, key=imp.__getitem__) in {
        "credit_utilization",
        "debt_to_income",
        "late_payments_12m",
        "annual_income",
    }
    assert set(first.segment_metrics) == {"region", "home_ownership"}
    assert {"python", "scikit-learn", "numpy", "pandas", "skops"} <= set(first.library_versions)
    # the reported metrics are the pipeline's metrics on the reported holdout
    x = first.holdout[spec.features.all]
    preds = predict(first.pipeline, x, first.classes)
    recomputed = task_metrics(
        "binary", first.holdout["default"].to_numpy(), preds.label, preds.proba, first.classes
    )
    assert recomputed["roc_auc"] == pytest.approx(first.metrics["roc_auc"])


def test_multiclass_and_regression_train() -> None:
    multi = train(example("product-category"), product_category(2000, seed=3))
    assert multi.classes == ["electronics", "home", "fashion", "toys", "sports"]
    assert multi.metrics["accuracy"] > 0.6
    assert multi.holdout_predictions.proba is not None
    assert multi.holdout_predictions.proba.shape == (multi.n_holdout, 5)
    reg = train(
        example("house-price", class_path="sklearn.linear_model.Ridge", params={"alpha": 1.0}),
        house_price(2000, seed=4),
    )
    assert reg.classes is None and reg.metrics["r2"] > 0.6


def test_rows_without_a_target_are_dropped_and_counted() -> None:
    spec = example("credit-default", **FAST_HGB)
    frame = credit_default(1000, seed=6)
    frame["default"] = frame["default"].astype("float64")
    frame.loc[:99, "default"] = np.nan
    result = train(spec, frame)
    assert result.dropped_rows["missing_target"] == 100
    assert result.n_train + result.n_holdout == 900
    assert result.classes == ["0", "1"]  # 1.0 and 1 are one class


def test_single_class_and_tiny_data_are_refused_as_bad_input() -> None:
    spec = example("credit-default", **FAST_HGB)
    frame = credit_default(200, seed=7)
    frame["default"] = 0
    with pytest.raises(InvalidInput, match="single class"):
        train(spec, frame)
    with pytest.raises(InvalidInput, match="labelled rows"):
        train(spec, credit_default(10, seed=7))


def test_values_outside_the_declared_classes_are_refused() -> None:
    spec = example("credit-default", **FAST_HGB)
    frame = credit_default(200, seed=8)
    frame.loc[0, "default"] = 7
    with pytest.raises(InvalidInput, match=r"not in the spec's classes"):
        train(spec, frame)


def test_predict_aligns_probabilities_to_the_requested_classes() -> None:
    spec = example("credit-default", **FAST_HGB)
    result = train(spec, credit_default(600, seed=9))
    x = result.holdout[spec.features.all]
    wider = predict(result.pipeline, x, ["0", "1", "2"])
    assert wider.proba is not None and result.holdout_predictions.proba is not None
    np.testing.assert_allclose(wider.proba[:, :2], result.holdout_predictions.proba)
    assert (wider.proba[:, 2] == 0).all()


def test_every_spec_field_is_documented() -> None:
    from pydantic import BaseModel

    from modelsteward.spec import ModelSpec

    doc = (Path(__file__).resolve().parents[2] / "docs" / "model-spec.md").read_text()
    missing = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            if f"`{name}`" not in doc and f"`{prefix}{name}`" not in doc and f"{prefix}{name}" not in doc:
                missing.append(prefix + name)
            sub = info.annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                walk(sub, f"{prefix}{name}.")

    walk(ModelSpec, "")
    assert missing == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_specs_are_valid_and_buildable(path: Path) -> None:
    spec = parse_spec(path.read_text())
    assert spec.name == path.stem
    build_pipeline(spec)


def test_recent_split_holds_out_from_the_newest_rows_and_keeps_the_rest_in_training() -> None:
    spec = example("credit-default", **FAST_HGB).model_copy(update={"holdout_split": "recent"})
    old = credit_default(2000, seed=3, start="2026-01-01", span_hours=24)
    new = credit_default(2000, seed=4, start="2026-03-01", span_hours=24)
    new["age"] = 99.0  # marks the newest rows
    frame = pd.concat([old, new], ignore_index=True)
    result = train(spec, frame)
    assert result.params["holdout_split"] == "recent"
    assert result.n_holdout == 1000
    # the holdout comes from the newest 2 x 25% = 50% of rows; the other recent half stays in training
    assert (result.holdout["age"] == 99.0).all()
    assert result.n_train == 3000
    # a spec without usable timestamps falls back to the random split
    fallback = train(spec, frame.drop(columns=["timestamp"]))
    assert fallback.params["holdout_split"] == "random"
