"""The repeatable train/validate pipeline a model spec declares.

One function, :func:`train`, turns (spec, labelled frame) into a fitted scikit-learn Pipeline and the
evidence a reviewer needs: holdout metrics overall and per segment, permutation feature importance
keyed by the spec's feature names, the exact library versions and parameters. Same spec, same data,
same seed -> same split, same model, same numbers.

Inputs to the pipeline go through :func:`prepare_features` first (training and scoring alike):
numeric columns become float64 with NaN for missing, categorical columns become Python strings with
NaN for missing. pandas' nullable ``string``/``Int64`` dtypes (``pd.NA``) would otherwise break
scikit-learn's imputers at scoring time.
"""

from __future__ import annotations

import functools
import importlib
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput, SpecError
from ..spec import ModelSpec
from .metrics import as_labels, metric_value, metrics_by_segment, task_metrics

MIN_TRAINING_ROWS = 20
MIN_HOLDOUT_ROWS = 10
MIN_CATEGORY_FREQUENCY = 0.01  # categories rarer than 1% of training rows share one "infrequent" column
IMPORTANCE_SAMPLE_ROWS = 2000
IMPORTANCE_REPEATS = 3
TRAINING_THREADS = 1
_TREE_MODULES = ("sklearn.ensemble", "sklearn.tree")


@dataclass(frozen=True)
class Predictions:
    """What a model said about a frame: labels (or values) and, for classifiers, probabilities.

    ``proba`` columns follow the ``classes`` the predictions were aligned to.
    """

    label: np.ndarray
    proba: np.ndarray | None = None


@dataclass
class TrainingResult:
    pipeline: Any
    metrics: dict[str, Any]
    segment_metrics: dict[str, Any]
    feature_importance: dict[str, float]
    holdout: pd.DataFrame
    holdout_predictions: Predictions
    classes: list[str] | None
    library_versions: dict[str, str]
    params: dict[str, Any]
    n_train: int
    n_holdout: int
    duration_seconds: float
    dropped_rows: dict[str, int] = field(default_factory=dict)
    training_bias: dict[str, Any] | None = None
    #: event time of each holdout row (aligned with ``holdout``), when the spec names a timestamp column
    holdout_times: pd.Series | None = None
    holdout_index: np.ndarray | None = None  # the holdout rows' labels in the training frame's index
    #: label-free attributions of the model's outputs on the holdout: the attribution drift baseline
    attribution_baseline: dict[str, float] | None = None

    @property
    def primary_score(self) -> float | None:
        value = self.metrics.get(self.params["primary_metric"])
        return None if value is None else float(value)


# --- inputs ---------------------------------------------------------------------------------
def can_train(spec: ModelSpec, has_training_data: bool) -> tuple[bool, str]:
    """Whether a retrain of ``spec``'s model can run, and the sentence an owner reads either way.

    A model the suite did not train (bring your own model: a reference, inference batches and
    labels, but nothing under ``training/`` and no labeled pool) cannot be retrained: an alarm must
    not announce a retrain; it says what the owner can do instead.
    """
    from .alert_policy import no_training_data

    if has_training_data:
        return True, f"a retrain of {spec.name} can run from its training snapshot and labeled pool"
    return False, no_training_data(spec.name)


def prepare_features(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The spec's feature columns with the dtypes the pipeline expects (see module docstring)."""
    missing = [c for c in spec.features.all if c not in frame.columns]
    if missing:
        raise InvalidInput(f"data lacks feature columns {missing} named in the spec", code="missing_columns")
    out: dict[str, Any] = {}
    for col in spec.features.numeric:
        values = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        out[col] = values.to_numpy(dtype="float64", na_value=np.nan)
    for col in spec.features.categorical:
        series = frame[col]
        mask = series.isna().to_numpy()
        labels = as_labels(series.to_numpy(dtype=object, na_value=None))
        labels[mask] = np.nan
        out[col] = pd.Series(labels, index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index, columns=spec.features.all)


def target_values(frame: pd.DataFrame, spec: ModelSpec) -> pd.Series:
    """Class labels as strings (classifiers) or float64 (regression); NaN where the target is missing."""
    if spec.target not in frame.columns:
        raise InvalidInput(f"training data lacks the target column '{spec.target}'", code="missing_target")
    raw = frame[spec.target]
    if spec.is_classifier:
        mask = raw.isna().to_numpy()
        labels = as_labels(raw.to_numpy(dtype=object, na_value=None))
        labels[mask] = np.nan
        return pd.Series(labels, index=frame.index, dtype=object)
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    return pd.Series(values.to_numpy(na_value=np.nan), index=frame.index)


# --- estimator and pipeline -----------------------------------------------------------------
def estimator_class(spec: ModelSpec) -> type:
    """Import the spec's estimator class (sklearn only) and check it fits the task."""
    from sklearn.base import BaseEstimator, is_classifier, is_regressor

    path = spec.estimator.class_path
    module_name, _, class_name = path.rpartition(".")
    if not module_name.startswith("sklearn."):
        raise SpecError(f"estimator.class_path: '{path}' is not a scikit-learn class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(
            f"estimator.class_path: module '{module_name}' does not exist in scikit-learn"
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, BaseEstimator):
        raise SpecError(f"estimator.class_path: '{path}' is not a scikit-learn estimator class")
    probe = cls()
    if spec.is_classifier and not is_classifier(probe):
        raise SpecError(f"estimator.class_path: '{path}' is not a classifier but the task is {spec.task}")
    if not spec.is_classifier and not is_regressor(probe):
        raise SpecError(f"estimator.class_path: '{path}' is not a regressor but the task is regression")
    return cls


def build_estimator(spec: ModelSpec) -> Any:
    """The estimator with the spec's params (validated now, not at fit) and the spec's seed."""
    cls = estimator_class(spec)
    estimator = cls()
    valid = estimator.get_params(deep=False)
    params = dict(spec.estimator.params)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise SpecError(
            f"estimator.params: '{unknown[0]}' is not a parameter of {spec.estimator.class_path}; "
            f"valid parameters: {', '.join(sorted(valid))}"
        )
    if "random_state" in valid and "random_state" not in params:
        params["random_state"] = spec.seed
    try:
        estimator.set_params(**params)
        validate = getattr(estimator, "_validate_params", None)
        if callable(validate):
            validate()
    except (ValueError, TypeError) as exc:
        bad = next((p for p in params if f"'{p}'" in str(exc)), None)
        where = f"estimator.params.{bad}" if bad else "estimator.params"
        raise SpecError(f"{where}: {exc}") from exc
    return estimator


def is_tree_model(spec: ModelSpec) -> bool:
    return spec.estimator.class_path.startswith(_TREE_MODULES)


def build_pipeline(spec: ModelSpec) -> Any:
    """ColumnTransformer (impute, scale for non-tree models, one-hot) -> the spec's estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    estimator = build_estimator(spec)
    tree = is_tree_model(spec)
    allow_nan = bool(estimator.__sklearn_tags__().input_tags.allow_nan)
    transformers: list[tuple[str, Any, list[str]]] = []
    if spec.features.numeric:
        if tree and allow_nan:
            numeric: Any = "passthrough"  # the trees split on missing values themselves
        elif tree:
            numeric = SimpleImputer(strategy="median")
        else:
            numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        transformers.append(("numeric", numeric, list(spec.features.numeric)))
    if spec.features.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                (
                    "onehot",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=MIN_CATEGORY_FREQUENCY,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        transformers.append(("categorical", categorical, list(spec.features.categorical)))
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


# --- prediction -----------------------------------------------------------------------------
def predict(pipeline: Any, features: pd.DataFrame, classes: Sequence[str] | None = None) -> Predictions:
    """Predict on prepared features; probabilities re-ordered (and zero-filled) to ``classes``.

    A champion trained before a class existed still yields a probability matrix with one column per
    current class, so champion and challenger are scored on identical terms.
    """
    with _thread_limit():
        return _predict(pipeline, features, classes)


def _predict(pipeline: Any, features: pd.DataFrame, classes: Sequence[str] | None) -> Predictions:
    if classes is None:
        return Predictions(label=np.asarray(pipeline.predict(features), dtype=float))
    label = as_labels(pipeline.predict(features))
    proba = None
    if hasattr(pipeline, "predict_proba"):
        raw = np.asarray(pipeline.predict_proba(features), dtype=float)
        model_classes = [str(c) for c in as_labels(pipeline.classes_)]
        proba = np.zeros((raw.shape[0], len(classes)))
        for j, c in enumerate(model_classes):
            if c in classes:
                proba[:, list(classes).index(c)] = raw[:, j]
    return Predictions(label=label, proba=proba)


# --- training -------------------------------------------------------------------------------
def resolve_classes(spec: ModelSpec, y: pd.Series) -> list[str]:
    """The spec's classes (in its order: binary positive class second) or the sorted observed ones."""
    observed = sorted(set(y.dropna()))
    if spec.classes:
        declared = [str(c) for c in spec.classes]
        unknown = sorted(set(observed) - set(declared))
        if unknown:
            raise InvalidInput(
                f"target '{spec.target}' has values {unknown[:5]} not in the spec's classes {declared}",
                code="unknown_class",
            )
        classes = declared
    else:
        classes = observed
    if spec.task == "binary" and len(classes) != 2:
        raise InvalidInput(
            f"task is binary but target '{spec.target}' has {len(classes)} classes {classes[:5]}",
            code="bad_target",
        )
    if spec.task == "multiclass" and len(classes) < 2:
        raise InvalidInput(f"target '{spec.target}' has fewer than 2 classes", code="bad_target")
    if len(observed) < 2:
        raise InvalidInput(
            f"training data has a single class {observed} in '{spec.target}': nothing to learn",
            code="single_class",
        )
    return classes


def library_versions() -> dict[str, str]:
    import pyarrow
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "pyarrow": pyarrow.__version__,
        "skops": skops.__version__,
    }


def _recent_holdout(frame: pd.DataFrame, spec: ModelSpec) -> pd.Series | None:
    """Holdout drawn (seeded) from the newest ``2 x holdout_fraction`` of rows by timestamp.

    After drift the question is how a model does on today's data, so the gate judges champion and
    challenger on recent rows; the other half of the recent rows stays in training, so the
    challenger can learn what changed. None (plain random split) without usable timestamps.
    """
    column = spec.timestamp_column
    if not column or column not in frame.columns:
        return None
    stamps = pd.to_datetime(frame[column], errors="coerce", utc=True)
    if stamps.notna().mean() < 0.99:
        return None
    newest_first = stamps.rank(method="first", ascending=False).to_numpy()
    block = max(2, round(len(frame) * min(1.0, 2 * spec.holdout_fraction)))
    recent = np.flatnonzero(newest_first <= block)
    rng = np.random.default_rng(spec.seed)
    chosen = rng.choice(recent, size=max(1, round(len(frame) * spec.holdout_fraction)), replace=False)
    mask = np.zeros(len(frame), dtype=bool)
    mask[chosen] = True
    return pd.Series(mask, index=frame.index)


# long: split, fit, evaluate: one training run in the order its evaluation document records
def train(spec: ModelSpec, frame: pd.DataFrame) -> TrainingResult:
    """Split (out-of-time or seeded random, stratified for classifiers), fit, evaluate on the holdout."""
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    features = prepare_features(frame, spec)
    y = target_values(frame, spec)
    labelled = y.notna().to_numpy()
    dropped = {"missing_target": int((~labelled).sum())}
    features, y = features.loc[labelled], y.loc[labelled]
    if len(y) < MIN_TRAINING_ROWS:
        raise InvalidInput(
            f"training data has {len(y)} labelled rows; at least {MIN_TRAINING_ROWS} are needed",
            code="too_few_rows",
        )
    classes = resolve_classes(spec, y) if spec.is_classifier else None
    pipeline = build_pipeline(spec)  # SpecError before any heavy work

    split = "random"
    recent = _recent_holdout(frame.loc[labelled], spec) if spec.holdout_split == "recent" else None
    if recent is not None:
        split = "recent"
        x_train, x_hold = features.loc[~recent], features.loc[recent]
        y_train, y_hold = y.loc[~recent], y.loc[recent]
    else:
        stratify = None
        if classes is not None:
            counts = y.value_counts()
            if counts.min() >= 2:
                stratify = y
        x_train, x_hold, y_train, y_hold = train_test_split(
            features, y, test_size=spec.holdout_fraction, random_state=spec.seed, stratify=stratify
        )
    if len(y_hold) < MIN_HOLDOUT_ROWS:
        raise InvalidInput(
            f"holdout has {len(y_hold)} rows; add data or raise holdout_fraction (need {MIN_HOLDOUT_ROWS})",
            code="too_few_rows",
        )
    if classes is not None and y_train.nunique() < 2:
        raise InvalidInput("the training split has a single class", code="single_class")
    with _thread_limit():
        try:
            pipeline.fit(x_train, y_train)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"training failed on this data: {exc}", code="training_failed") from exc
        preds = _predict(pipeline, x_hold, classes)
        importance = feature_importance(pipeline, x_hold, y_hold, spec, classes)
        attributions = output_attributions(pipeline, x_hold, spec, classes)
    metrics = task_metrics(spec.task, y_hold.to_numpy(), preds.label, preds.proba, classes)
    segments = metrics_by_segment(
        x_hold,
        spec.segments,
        task=spec.task,
        y_true=y_hold.to_numpy(),
        y_pred=preds.label,
        proba=preds.proba,
        classes=classes,
    )
    holdout = x_hold.copy()
    holdout[spec.target] = y_hold
    for attr in spec.sensitive_only_columns:  # group figures only: never fed to the model
        if attr in frame.columns:
            holdout[attr] = frame.loc[x_hold.index, attr]
    training_bias = _training_bias(spec, frame.loc[labelled], y, classes)
    holdout_times = None
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        stamps = frame.loc[x_hold.index, spec.timestamp_column]
        holdout_times = pd.to_datetime(stamps, errors="coerce", utc=True).reset_index(drop=True)
    estimator = pipeline.named_steps["model"]
    params = {
        "class_path": spec.estimator.class_path,
        "estimator_params": _json_params(estimator.get_params(deep=False)),
        "primary_metric": spec.primary_metric,
        "seed": spec.seed,
        "holdout_fraction": spec.holdout_fraction,
        "holdout_split": split,
        "min_category_frequency": MIN_CATEGORY_FREQUENCY,
    }
    return TrainingResult(
        pipeline=pipeline,
        metrics=metrics,
        segment_metrics=segments,
        feature_importance=importance,
        holdout=holdout.reset_index(drop=True),
        holdout_predictions=preds,
        classes=classes,
        library_versions=library_versions(),
        params=params,
        n_train=len(y_train),
        n_holdout=len(y_hold),
        duration_seconds=round(time.perf_counter() - started, 3),
        dropped_rows=dropped,
        training_bias=training_bias,
        holdout_times=holdout_times,
        holdout_index=x_hold.index.to_numpy(),
        attribution_baseline=attributions,
    )


def _training_bias(
    spec: ModelSpec, frame: pd.DataFrame, y: pd.Series, classes: Sequence[str] | None
) -> dict[str, Any] | None:
    """Clarify's pre-training bias (CI, DPL) of the labelled rows, per sensitive attribute."""
    if not spec.fairness.enabled:
        return None
    from .fairness import favorable_label, pre_training_bias, sensitive_columns

    report = pre_training_bias(
        spec.fairness,
        sensitive=sensitive_columns(frame, spec.fairness),
        y_true=y.to_numpy(),
        favorable=favorable_label(spec, classes),
    )
    return report.model_dump(mode="json")


def score(
    metric: str, task: str, y_true: Any, preds: Predictions, classes: Sequence[str] | None
) -> float | None:
    """One metric of predictions against labels (None if undefined on these rows)."""
    return metric_value(metric, task, y_true, preds.label, preds.proba, classes)


def feature_importance(
    pipeline: Any, x: pd.DataFrame, y: pd.Series, spec: ModelSpec, classes: Sequence[str] | None
) -> dict[str, float]:
    """Permutation importance on a capped, seeded holdout sample, normalized to sum to 1.

    Scored with the primary metric (oriented so larger is better); negative importances (noise)
    count as 0. If no feature matters measurably, every feature gets an equal share.
    """
    from sklearn.inspection import permutation_importance

    if len(x) > IMPORTANCE_SAMPLE_ROWS:
        sample = x.sample(n=IMPORTANCE_SAMPLE_ROWS, random_state=spec.seed)
        x, y = sample, y.loc[sample.index]
    sign = 1.0 if spec.greater_is_better else -1.0
    metric = spec.primary_metric
    needs_proba = metric in ("roc_auc", "log_loss")

    def scorer(estimator: Any, xs: pd.DataFrame, ys: pd.Series) -> float:
        if needs_proba and classes is not None:  # one pass: labels are not needed for these metrics
            raw = np.asarray(estimator.predict_proba(xs), dtype=float)
            model_classes = [str(c) for c in as_labels(estimator.classes_)]
            proba = np.zeros((raw.shape[0], len(classes)))
            for j, c in enumerate(model_classes):
                if c in classes:
                    proba[:, list(classes).index(c)] = raw[:, j]
            preds = Predictions(
                label=np.asarray(model_classes, dtype=object)[raw.argmax(axis=1)], proba=proba
            )
        elif classes is not None:
            preds = Predictions(label=as_labels(estimator.predict(xs)))
        else:
            preds = Predictions(label=np.asarray(estimator.predict(xs), dtype=float))
        value = score(metric, spec.task, ys.to_numpy(), preds, classes)
        return sign * value if value is not None else 0.0

    result = permutation_importance(
        pipeline, x, y, scoring=scorer, n_repeats=IMPORTANCE_REPEATS, random_state=spec.seed, n_jobs=1
    )
    raw = np.clip(np.asarray(result.importances_mean, dtype=float), 0.0, None)
    names = list(x.columns)
    total = float(raw.sum())
    if total <= 0 or not np.isfinite(total):
        return {name: 1.0 / len(names) for name in names}
    return {name: float(v / total) for name, v in zip(names, raw, strict=True)}


def output_attributions(
    pipeline: Any, x: pd.DataFrame, spec: ModelSpec, classes: Sequence[str] | None, *, seed: int | None = None
) -> dict[str, float] | None:
    """Label-free global attributions of the pipeline's outputs on prepared features
    (domain.attribution): the version's baseline at training, a batch's in score_batch. None when
    the spec turns attribution drift off."""
    if not spec.explanations.attribution_drift:
        return None
    from .attribution import output_attributions as attribute

    def run(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        preds = _predict(pipeline, frame, classes)
        return preds.label, preds.proba

    with _thread_limit():
        return attribute(
            run,
            x,
            seed=spec.seed if seed is None else seed,
            sample_rows=spec.explanations.sample_rows,
            regression=classes is None,
        )


def _thread_limit() -> Any:
    """Cap OpenMP/BLAS threads at ``TRAINING_THREADS``.

    Measured: on a busy 2-core host, HistGradientBoosting's per-tree OpenMP prediction made
    permutation importance ~9x slower than one thread (thread start-up and spinning dominate the
    small predictions). One thread is also what a small Lambda has.
    """
    return _thread_controller().limit(limits=TRAINING_THREADS)


@functools.cache
def _thread_controller() -> Any:
    """Inspecting the loaded thread pools costs ~10 ms; do it once (after scikit-learn is imported)."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the controller must see)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Estimator params as JSON scalars (objects become their repr)."""
    out: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = repr(value)
    return out
