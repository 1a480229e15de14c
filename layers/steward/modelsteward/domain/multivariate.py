"""Multivariate drift: can a classifier tell the reference sample from the batch sample?

A domain classifier (Evidently/NannyML style) catches changes no single column shows, such as a
correlation that flips sign. To stay light (no scikit-learn import on the monitoring path: 1-5 s of
cold start) it is an L2-regularized logistic regression fitted by Newton steps in numpy, on
quantile-normalized numeric features, their squares and pairwise products, and one-hot
categoricals. For Gaussian data this quadratic model is the Bayes-optimal discriminant, so it sees
mean, variance and correlation changes alike. AUC comes from out-of-fold scores of a seeded K-fold
cross-validation; AUC >= ``multivariate_auc`` means drift. Cost is fixed by the sample sizes
(2000 + 2000 rows), whatever the batch size.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..spec import DriftPolicy
from .assessment_record import MultivariateResult
from .baseline import SAMPLE_ROWS, Baseline, CategoricalBaseline, sample_rows
from .special import expit, ndtri

MAX_NUMERIC = 12  # most important numeric features expanded with squares and pairwise products
MAX_CATEGORIES = 10  # one-hot levels per categorical feature (the reference's most frequent)
FOLDS = 5
L2 = 1.0


def _normal_scores(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Map values through the reference's empirical CDF to standard-normal scores (NaN kept)."""
    ref = np.sort(reference[~np.isnan(reference)])
    out = np.full(len(values), np.nan)
    if len(ref) == 0:
        return out
    ok = ~np.isnan(values)
    lo = np.searchsorted(ref, values[ok], side="left")
    hi = np.searchsorted(ref, values[ok], side="right")
    u = (lo + hi) / 2 / len(ref)  # mid-rank: ties get the middle of their CDF jump
    u = np.clip(u, 0.5 / len(ref), 1 - 0.5 / len(ref))
    out[ok] = ndtri(u)
    return out


def design_matrix(
    reference_numeric: Mapping[str, np.ndarray],
    current_numeric: Mapping[str, np.ndarray],
    reference_categorical: Mapping[str, Sequence[str | None]],
    current_categorical: Mapping[str, Sequence[str | None]],
    levels: Mapping[str, Sequence[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """Rows: reference sample then current sample; y = 1 for current rows. Columns standardized."""
    n_ref = (
        len(next(iter(reference_numeric.values())))
        if reference_numeric
        else len(next(iter(reference_categorical.values())))
    )
    n_cur = (
        len(next(iter(current_numeric.values())))
        if current_numeric
        else len(next(iter(current_categorical.values())))
    )
    columns: list[np.ndarray] = []
    scores = []
    for name, ref in reference_numeric.items():
        both = np.concatenate([ref, current_numeric[name]])
        z = _normal_scores(ref, both)
        missing = np.isnan(z)
        if missing.any():
            columns.append(missing.astype(np.float64))
        scores.append(np.where(missing, 0.0, z))
    columns.extend(scores)
    for a, b in itertools.combinations_with_replacement(range(len(scores)), 2):
        columns.append(scores[a] * scores[b])
    for name, ref_values in reference_categorical.items():
        values = [*ref_values, *current_categorical[name]]
        known = list(levels.get(name, ()))[:MAX_CATEGORIES]
        index = {c: i for i, c in enumerate(known)}
        codes = np.fromiter(
            (index.get(v, len(known)) if v is not None else len(known) + 1 for v in values),
            dtype=np.int64,
            count=len(values),
        )
        onehot = np.eye(len(known) + 2)[codes]
        columns.extend(onehot[:, j] for j in range(onehot.shape[1]))
    x = np.column_stack(columns) if columns else np.zeros((n_ref + n_cur, 0))
    std = x.std(axis=0)
    keep = std > 1e-12
    x = (x[:, keep] - x[:, keep].mean(axis=0)) / std[keep]
    y = np.concatenate([np.zeros(n_ref), np.ones(n_cur)])
    return x, y


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, max_iter: int = 30, start: np.ndarray | None = None
) -> np.ndarray:
    """Newton-Raphson for L2-penalized logistic regression (intercept unpenalized); returns weights.

    ``start`` (another fold's weights) only shortens the way: the optimum is unique (the penalty
    makes the objective strictly convex) and is reached to the same tolerance."""
    xi = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(xi.shape[1]) if start is None else start.copy()
    penalty = np.full(xi.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(max_iter):
        p = expit(xi @ w)
        grad = xi.T @ (p - y) + penalty * w
        hess = (xi.T * (p * (1 - p))) @ xi + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC with tie-averaged ranks."""
    n = len(scores)
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))
    ends = np.concatenate([starts[1:], [n]])
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Small matrices: multi-threaded BLAS spins more than it computes (5-20x slower on 2 vCPUs)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - shipped with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def cross_validated_auc(x: np.ndarray, y: np.ndarray, *, folds: int = FOLDS, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):  # stratified: each fold gets its share of both samples
        idx = rng.permutation(np.flatnonzero(y == label))
        fold_of[idx] = np.arange(len(idx)) % folds
    out = np.empty(len(y))
    w: np.ndarray | None = None
    with single_threaded_blas():
        for k in range(folds):
            test = fold_of == k
            w = fit_logistic(x[~test], y[~test], start=w)  # folds share 3/4 of their rows: a close start
            out[test] = w[0] + x[test] @ w[1:]
    return roc_auc(out, y)


def multivariate_drift(
    baseline: Baseline,
    table: pa.Table,
    policy: DriftPolicy,
    *,
    seed: int = 0,
    sample_size: int = SAMPLE_ROWS,
) -> MultivariateResult:
    """Domain-classifier AUC between the baseline's reference sample and a seeded batch sample."""
    ref = baseline.sample
    present = set(table.column_names)
    ranked = sorted(ref.numeric, key=lambda f: -baseline.feature_importance.get(f, 0.0))
    numeric = [f for f in ranked if f in present][:MAX_NUMERIC]
    categorical = [f for f in ref.categorical if f in present]
    features = [*numeric, *categorical]
    n_cur = min(sample_size, table.num_rows)
    result = {
        "threshold": policy.multivariate_auc,
        "n_reference": ref.rows,
        "n_current": n_cur,
        "features": features,
    }
    if not features:
        return MultivariateResult(auc=None, drifted=False, note="no features to compare", **result)
    if ref.rows < policy.min_samples or n_cur < policy.min_samples:
        return MultivariateResult(
            auc=None, drifted=False, note=f"needs at least {policy.min_samples} rows on each side", **result
        )
    cur_num, cur_cat = sample_rows(table, numeric, categorical, sample_size, seed)
    ref_num = {
        f: np.asarray([np.nan if v is None else v for v in ref.numeric[f]], dtype=np.float64) for f in numeric
    }
    levels = {}
    for f in categorical:
        col = baseline.columns.get(f)
        levels[f] = col.categories if isinstance(col, CategoricalBaseline) else []
    x, y = design_matrix(ref_num, cur_num, {f: ref.categorical[f] for f in categorical}, cur_cat, levels)
    if x.shape[1] == 0:
        return MultivariateResult(auc=0.5, drifted=False, note="every feature is constant", **result)
    auc = cross_validated_auc(x, y, seed=seed)
    return MultivariateResult(auc=auc, drifted=auc >= policy.multivariate_auc, **result)
