"""Univariate drift: an effect size that must be large AND a test that must be significant.

Peers flag everything at large N because they decide on p-values alone, or miss real shifts because
PSI/JS are blind to modest location changes. Here a column drifts only when

* its effect size (normalized Wasserstein, Jensen-Shannon distance or PSI) reaches the threshold,
* its two-sample test (KS on the baseline's quantile grid for numerics, chi-square on the
  reference-vs-current contingency table for categoricals) is significant after a
  Benjamini-Hochberg correction across the columns of the batch, and
* both sides have at least ``min_samples`` values (else the verdict is "insufficient_data").

When the baseline carries a noise band per column (domain/noise.py: the 99th percentile of the raw
score without drift, scaled to the batch's size), a feature earns its own bar: a significant feature
is also drift when its raw score exceeds ``noise_margin`` x its band and its ``effect`` (the effect
size beyond noise) reaches the ``floor`` -- a stable feature gets a lower bar than a noisy one, the
spec's threshold stays the bar above which a significant score is always drift, and nothing under
the floor is ever drift. Raw score beyond the band and effect at the floor is ``beyond_noise``:
persistence over batches (domain/persistence.py) turns that into drift. A baseline without bands
keeps the plain threshold.

Methods are registered by name in ``METHODS`` (settings live in the spec's DriftPolicy, apart from
the maths). All of them work on stored bins, never on raw data: see docs/drift-methods.md.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..spec import DriftPolicy
from .assessment_record import DatasetDrift, DataType, DriftResult, FeatureResult, Histogram, Kind
from .baseline import OTHER, Baseline, CategoricalBaseline, NumericBaseline
from .profile import CategoricalProfile, NumericProfile, Profile
from .special import chi2_sf, kolmogorov

DISPLAY_CATEGORIES = 30
MIN_EXPECTED = 5.0  # categories expected fewer times than this (in the smaller sample) are pooled


# --- what a method sees ---------------------------------------------------------------------
@dataclass(frozen=True)
class Distribution:
    """One side of a comparison, reduced to the bins it was profiled into.

    Bins, grid and positions may carry a leading axis: one row per sample of ``n`` values each (the
    noise bands score hundreds of reference chunks at once); the last axis is always the bins.
    """

    data_type: DataType
    n: int
    bins: np.ndarray  # coarse bins (numeric) or categories + __other__ (categorical)
    grid: np.ndarray | None = None  # counts in the fine grid (numeric)
    positions: np.ndarray | None = None  # mean relative position of values inside each fine bin
    edges: np.ndarray | None = None  # the fine grid (numeric)
    count_below: int = 0  # values below the grid (the reference minimum)
    tail_below: float = 0.0  # sum of (edges[0] - y) over values below the grid
    tail_above: float = 0.0  # sum of (y - edges[-1]) over values above the grid
    scale: float = 1.0  # the reference std, to normalise distances

    @property
    def shares(self) -> np.ndarray:
        total = self.bins.sum(axis=-1, keepdims=True)
        return np.asarray(
            np.divide(self.bins, total, out=np.zeros(self.bins.shape), where=total > 0), dtype=np.float64
        )

    def cdf(self) -> np.ndarray:
        """Share of values <= each grid edge."""
        assert self.grid is not None
        cum = np.cumsum(self.grid, axis=-1)[..., :-1]
        return cum / self.n if self.n else np.zeros(cum.shape)

    def cdf_integrals(self, cdf: np.ndarray | None = None) -> np.ndarray:
        """Integral of the CDF over each inner interval [e_k, e_k+1], exact from counts and positions.

        Over (a, b]: integral of F = (b - a) * F(b) - sum(x - a) / n, and sum(x - a) is the bin's
        count times its mean position times its width. ``cdf`` is ``self.cdf()`` when the caller has
        it already (on hundreds of stacked rows each recomputation is a pass over all of them).
        """
        assert self.grid is not None and self.positions is not None and self.edges is not None
        widths = np.diff(self.edges)
        if self.n == 0:
            return np.zeros(len(widths))
        inner = self.grid[..., 1:-1] / self.n
        inner *= self.positions[..., 1:-1]
        out = (self.cdf() if cdf is None else cdf)[..., 1:] - inner
        out *= widths
        return out


def _coarse_positions(base: NumericBaseline) -> np.ndarray:
    return np.searchsorted(np.asarray(base.edges), np.asarray(base.coarse_edges))


def coarse_counts(grid: np.ndarray, positions: np.ndarray, total: int) -> np.ndarray:
    """Counts of the bins whose inner edges are the fine-grid edges at ``positions`` (per row)."""
    cum = np.cumsum(grid, axis=-1)[..., :-1][..., positions]
    zeros = np.zeros((*cum.shape[:-1], 1), dtype=cum.dtype)
    return np.diff(np.concatenate([zeros, cum, np.full_like(zeros, total)], axis=-1), axis=-1)


def _scale(base: NumericBaseline) -> float:
    """Reference std; a constant reference falls back to its magnitude (at least 1)."""
    return base.std if base.std > 0 else max(abs(base.mean), 1.0)


def numeric_distributions(base: NumericBaseline, cur: NumericProfile) -> tuple[Distribution, Distribution]:
    edges = np.asarray(base.edges, dtype=np.float64)
    pos = _coarse_positions(base)
    ref_grid = np.asarray(base.grid_counts, dtype=np.int64)
    cur_grid = np.asarray(cur.grid_counts, dtype=np.int64)
    scale = _scale(base)
    ref = Distribution(
        "numeric",
        base.count,
        coarse_counts(ref_grid, pos, base.count),
        ref_grid,
        np.asarray(base.grid_positions, dtype=np.float64),
        edges,
        scale=scale,
    )
    tail_below = cur.count_below * edges[0] - cur.sum_below if len(edges) else 0.0
    tail_above = cur.sum_above - cur.count_above * edges[-1] if len(edges) else 0.0
    current = Distribution(
        "numeric",
        cur.count,
        coarse_counts(cur_grid, pos, cur.count),
        cur_grid,
        np.asarray(cur.grid_positions, dtype=np.float64),
        edges,
        count_below=cur.count_below,
        tail_below=max(tail_below, 0.0),
        tail_above=max(tail_above, 0.0),
        scale=scale,
    )
    return ref, current


def pool_rare(
    reference: np.ndarray, current: np.ndarray, minimum: float = MIN_EXPECTED
) -> tuple[np.ndarray, np.ndarray]:
    """Pool the last bin (``__other__``) with every category expected fewer than ``minimum`` times
    in the smaller sample.

    Rare categories make the chi-square test anti-conservative and their frequency changes are
    noise; pooling them is the textbook remedy (and it keeps Jensen-Shannon's noise floor low).
    ``__other__`` always joins the pool: it holds the categories the reference never saw, each of
    them rare under no drift (an unseen category that is frequent still moves the pooled bin).
    """
    n, m = reference.sum(), current.sum()
    if not n or not m:
        return reference, current
    pooled = _pooled(reference, current, minimum)
    keep = ~pooled
    return (
        np.append(reference[keep], reference[pooled].sum()),
        np.append(current[keep], current[pooled].sum()),
    )


def _pooled(reference: np.ndarray, current: np.ndarray, minimum: float) -> np.ndarray:
    """The bins ``pool_rare`` pools, per row of ``current`` (``__other__``, the last, always)."""
    n = reference.sum(axis=-1, keepdims=True)
    m = current.sum(axis=-1, keepdims=True)
    expected = np.minimum(n, m) * (reference + current) / (n + m)
    pooled = expected < minimum
    pooled[..., -1] = True
    return np.asarray(pooled, dtype=np.bool_)  # a mask: the callers index with it


def pool_rare_rows(
    reference: np.ndarray, current: np.ndarray, minimum: float = MIN_EXPECTED
) -> tuple[np.ndarray, np.ndarray]:
    """``pool_rare`` for many current rows at once (every row non-empty): pooled bins are zeroed
    in place and their sum goes to the last column, so rows keep one length (an empty bin on both
    sides adds nothing to any method)."""
    pooled = _pooled(reference, current, minimum)
    ref = np.where(pooled, 0, reference)
    cur = np.where(pooled, 0, current)
    ref[..., -1] = np.where(pooled, reference, 0).sum(axis=-1)
    cur[..., -1] = np.where(pooled, current, 0).sum(axis=-1)
    return ref, cur


def categorical_distributions(
    base: CategoricalBaseline, cur: CategoricalProfile
) -> tuple[Distribution, Distribution]:
    ref_bins, cur_bins = pool_rare(
        np.asarray([*base.counts, base.other], dtype=np.int64),
        np.asarray([*cur.counts, cur.other], dtype=np.int64),
    )
    return Distribution("categorical", base.count, ref_bins), Distribution("categorical", cur.count, cur_bins)


def _sampling(reference: Distribution, current: Distribution) -> float:
    """1/n + 1/m: the variance scale of a difference between two independent samples."""
    return 1.0 / reference.n + 1.0 / current.n if reference.n and current.n else math.inf


def _occupied(reference: Distribution, current: Distribution) -> int:
    return int(np.count_nonzero((reference.bins + current.bins) > 0))


# --- effect sizes ---------------------------------------------------------------------------
class DriftMethod(ABC):
    """An effect size between a reference and a current distribution (0 = identical).

    ``score`` is the plain statistic (what Evidently/NannyML report). Two finite samples of one
    distribution still score above 0; ``noise`` is that expected score under no drift, and
    ``corrected`` removes it. Verdicts use the corrected score, so small batches (1k rows, or many
    categories) do not cross the threshold on sampling noise alone; at large N the two agree.
    """

    name: ClassVar[str]
    data_types: ClassVar[frozenset[str]] = frozenset({"numeric", "categorical"})
    floor: ClassVar[float] = 0.02  # default practical floor: nothing below it is drift

    def score(self, reference: Distribution, current: Distribution) -> float:
        return float(self.scores(reference, current))

    @abstractmethod
    def scores(self, reference: Distribution, current: Distribution) -> np.ndarray:
        """The statistic per row of the distributions' leading axis (a 0-d array for plain ones)."""

    def noise(self, reference: Distribution, current: Distribution) -> float:
        return 0.0

    def corrected(self, score: float, noise: float) -> float:
        return max(0.0, score - noise)

    def effect(self, score: float, noise: float) -> float:
        """The effect size compared with the floor: unbiased under drift (``corrected`` by default)."""
        return self.corrected(score, noise)


class JensenShannon(DriftMethod):
    """Jensen-Shannon distance (square root of the divergence, base 2: 0..1) on bins or categories.

    Noise: with k occupied bins the expected divergence of two samples of one distribution is
    (k - 1)(1/n + 1/m) / (8 ln 2) bits; it is subtracted from the divergence, not the distance.
    """

    name = "jensen_shannon"

    def scores(self, reference: Distribution, current: Distribution) -> np.ndarray:
        p, q = reference.shares, current.shares
        m = (p + q) / 2

        def kl(a: np.ndarray) -> np.ndarray:
            nz = a > 0
            terms = a * np.log2(np.divide(a, m, out=np.ones(m.shape), where=nz))
            return np.asarray(np.sum(terms, axis=-1), dtype=np.float64)

        return np.asarray(np.sqrt(np.maximum(0.0, (kl(p) + kl(q)) / 2)), dtype=np.float64)

    def noise(self, reference: Distribution, current: Distribution) -> float:
        divergence = (
            max(_occupied(reference, current) - 1, 0) * _sampling(reference, current) / (8 * math.log(2))
        )
        return math.sqrt(divergence)

    def corrected(self, score: float, noise: float) -> float:
        return math.sqrt(max(0.0, score * score - noise * noise))


class Psi(DriftMethod):
    """Population stability index, shares floored at ``epsilon`` so empty bins stay finite.

    Noise: PSI is about a chi-square distance, so two samples of one distribution score about
    (k - 1)(1/n + 1/m).
    """

    name = "psi"
    epsilon = 1e-4
    floor = 0.002  # PSI ~ 8 ln2 x JS^2 for small shifts: the Jensen-Shannon floor of 0.02

    def scores(self, reference: Distribution, current: Distribution) -> np.ndarray:
        p = np.maximum(reference.shares, self.epsilon)
        q = np.maximum(current.shares, self.epsilon)
        return np.asarray(np.sum((q - p) * np.log(q / p), axis=-1), dtype=np.float64)

    def noise(self, reference: Distribution, current: Distribution) -> float:
        return max(_occupied(reference, current) - 1, 0) * _sampling(reference, current)


class NormalizedWasserstein(DriftMethod):
    """Wasserstein-1 distance divided by the reference std, from the fine quantile grid.

    Exact outside the grid (tail sums) and, inside it, exact whenever the two CDFs do not cross
    within one fine bin (the bins' counts and mean positions give the integral of each CDF).
    Noise: sqrt(2/pi) * sqrt(1/n + 1/m) * integral of sqrt(F(1 - F)) over the reference, the mean
    distance between two samples of one distribution (Brownian-bridge limit).
    """

    name = "wasserstein"
    data_types = frozenset({"numeric"})
    floor = 0.035  # of a reference standard deviation

    def effect(self, score: float, noise: float) -> float:
        """sqrt(raw^2 - noise^2): the raw distance of a shift d is ~sqrt(d^2 + noise^2), so subtracting the
        noise (``corrected``, conservative against false alarms) understates a modest shift by ~noise."""
        return math.sqrt(max(0.0, score * score - noise * noise))

    def scores(self, reference: Distribution, current: Distribution) -> np.ndarray:
        return wasserstein_distance(reference, current) / reference.scale

    def noise(self, reference: Distribution, current: Distribution) -> float:
        if reference.edges is None or len(reference.edges) < 2 or not reference.n or not current.n:
            return 0.0
        mean_cdf = reference.cdf_integrals() / np.diff(reference.edges)
        spread = float(
            np.sum(np.diff(reference.edges) * np.sqrt(np.clip(mean_cdf * (1 - mean_cdf), 0, None)))
        )
        return math.sqrt(2 / math.pi) * math.sqrt(_sampling(reference, current)) * spread / reference.scale


def wasserstein_distance(reference: Distribution, current: Distribution) -> np.ndarray:
    """W1 between the two sides, per row of the current side's leading axis."""
    assert reference.edges is not None and current.grid is not None
    edges = reference.edges
    rows = current.grid.shape[:-1]
    if len(edges) == 0 or reference.n == 0 or current.n == 0:
        return np.zeros(rows)
    tails = np.full(rows, (current.tail_below + current.tail_above) / current.n)
    if len(edges) == 1:
        return tails
    ref_cdf, cur_cdf = reference.cdf(), current.cdf()
    exact = reference.cdf_integrals(ref_cdf) - current.cdf_integrals(cur_cdf)
    np.abs(exact, out=exact)
    d = ref_cdf - cur_cdf
    a, b = d[..., :-1], d[..., 1:]
    crossing = np.nonzero(a * b < 0)  # the CDFs cross inside the bin: |integral| is a lower bound
    if len(crossing[-1]):  # few bins cross: the bound on those only (the same values as on every bin)
        ac, bc = np.abs(a[crossing]), np.abs(b[crossing])
        with np.errstate(invalid="ignore", divide="ignore"):
            linear = np.diff(edges)[crossing[-1]] * (ac * ac + bc * bc) / (2 * (ac + bc))
        exact[crossing] = np.maximum(exact[crossing], linear)
    return np.asarray(exact.sum(axis=-1) + tails, dtype=np.float64)


METHODS: dict[str, DriftMethod] = {m.name: m for m in (JensenShannon(), Psi(), NormalizedWasserstein())}


def register_method(method: DriftMethod) -> None:
    """Add or replace a method (its ``name`` is what specs refer to)."""
    METHODS[method.name] = method


# --- significance ---------------------------------------------------------------------------
def ks_p_value(reference: Distribution, current: Distribution) -> tuple[float, float]:
    """Two-sample KS on the grid CDFs: (D, asymptotic p with Stephens' correction, n_eff = nm/(n+m))."""
    if reference.n == 0 or current.n == 0 or reference.grid is None:
        return 0.0, 1.0
    stat = float(np.max(np.abs(reference.cdf() - current.cdf()), initial=0.0))
    stat = max(stat, current.count_below / current.n)
    n_eff = reference.n * current.n / (reference.n + current.n)
    root = math.sqrt(n_eff)
    return stat, kolmogorov(stat * (root + 0.12 + 0.11 / root))


def chi2_p_value(reference: Distribution, current: Distribution) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2 x k contingency table (reference is a sample too)."""
    table = np.vstack([reference.bins, current.bins]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or reference.n == 0 or current.n == 0:
        return 0.0, 1.0
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    expected = rows * cols / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, chi2_sf(table.shape[1] - 1, stat)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (step-up, monotone), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


@dataclass(frozen=True)
class _Settings:
    method: str
    threshold: float
    warn_threshold: float
    floor: float
    note: str | None


def _settings(name: str, data_type: DataType, policy: DriftPolicy) -> _Settings:
    override = policy.features.get(name)
    method = (override.method if override and override.method else None) or (
        policy.numeric_method if data_type == "numeric" else policy.categorical_method
    )
    note = None
    if method not in METHODS:
        note, method = f"unknown method '{method}'; used jensen_shannon", "jensen_shannon"
    elif data_type not in METHODS[method].data_types:
        note, method = (
            f"{method} does not apply to {data_type} columns; used jensen_shannon",
            "jensen_shannon",
        )
    threshold = override.threshold if override and override.threshold else policy.threshold
    warn = override.warn_threshold if override and override.warn_threshold else policy.warn_threshold
    if override and override.floor is not None:
        floor = override.floor
    else:
        floor = policy.floor if policy.floor is not None else METHODS[method].floor
    return _Settings(method, threshold, min(warn, threshold), min(floor, threshold), note)


def _numeric_hist(base: NumericBaseline, grid: np.ndarray, n: int, lo: float, hi: float) -> Histogram:
    inner = np.asarray(base.display_edges)
    pos = np.searchsorted(np.asarray(base.edges), inner)
    counts = coarse_counts(grid, pos, n) if len(base.edges) else np.asarray([n])
    return Histogram(edges=[lo, *inner.tolist(), hi], counts=[int(c) for c in counts])


def histograms(
    base: NumericBaseline | CategoricalBaseline, cur: NumericProfile | CategoricalProfile
) -> tuple[Histogram, Histogram]:
    """Reference and current histograms on shared bins, for reports (no raw data needed)."""
    if isinstance(base, NumericBaseline) and isinstance(cur, NumericProfile):
        lo = min(v for v in (base.min, cur.min) if v is not None)
        hi = max(v for v in (base.max, cur.max) if v is not None)
        return (
            _numeric_hist(base, np.asarray(base.grid_counts), base.count, lo, hi),
            _numeric_hist(base, np.asarray(cur.grid_counts), cur.count, lo, hi),
        )
    assert isinstance(base, CategoricalBaseline) and isinstance(cur, CategoricalProfile)
    k = min(DISPLAY_CATEGORIES, len(base.categories))
    cats = [*base.categories[:k], OTHER]
    ref = [*base.counts[:k], sum(base.counts[k:]) + base.other]
    now = [*cur.counts[:k], sum(cur.counts[k:]) + cur.other]
    return Histogram(categories=cats, counts=ref), Histogram(categories=cats, counts=now)


def _kind(role: str, data_type: DataType) -> Kind:
    if role in ("prediction", "probability"):
        return "prediction"
    if role == "label":
        return "label"
    return data_type


# long: the column loop and the dataset verdict; the maths lives in the registered methods
def detect_drift(
    baseline: Baseline,
    profile: Profile,
    policy: DriftPolicy,
    *,
    importance: Mapping[str, float] | None = None,
) -> DriftResult:
    """Compare a (possibly merged) profile to its baseline, column by column, then as a dataset."""
    if profile.baseline_fingerprint != baseline.fingerprint:
        raise ValueError("the profile was computed against a different baseline")
    weights = dict(importance if importance is not None else baseline.feature_importance)
    pending: list[dict[str, Any]] = []
    for name, base in baseline.columns.items():
        cur = profile.columns.get(name)
        if cur is None and base.role == "label":
            continue  # labels arrive later, in their own uploads
        cfg = _settings(name, base.data_type, policy)
        test: Literal["ks", "chi2"] = "ks" if base.data_type == "numeric" else "chi2"
        row: dict[str, Any] = {
            "name": name,
            "kind": _kind(base.role, base.data_type),
            "data_type": base.data_type,
            "method": cfg.method,
            "threshold": cfg.threshold,
            "warn_threshold": cfg.warn_threshold,
            "floor": cfg.floor,
            "test": test,
            "n_reference": base.count,
            "n_current": cur.count if cur is not None else 0,
            "importance": float(weights.get(name, 0.0)) if base.role == "feature" else 0.0,
            "note": cfg.note,
            "score": None,
            "raw_score": None,
            "noise_floor": None,
            "statistic": None,
            "p_value": None,
        }
        if cur is None:
            row["note"] = "column absent from the batch"
        else:
            if isinstance(base, NumericBaseline) and isinstance(cur, NumericProfile):
                ref_d, cur_d = numeric_distributions(base, cur)
            elif isinstance(base, CategoricalBaseline) and isinstance(cur, CategoricalProfile):
                ref_d, cur_d = categorical_distributions(base, cur)
            else:  # pragma: no cover - profiles are built from the same baseline
                raise ValueError(f"column {name}: profile and baseline disagree on its type")
            row["reference_hist"], row["current_hist"] = histograms(base, cur)
            if base.count >= policy.min_samples and cur.count >= policy.min_samples:
                method = METHODS[cfg.method]
                raw, noise = method.score(ref_d, cur_d), method.noise(ref_d, cur_d)
                score = method.corrected(raw, noise)
                row.update(raw_score=raw, noise_floor=noise, score=score)
                effect = method.effect(raw, noise)
                band = base.noise.at(cfg.method, base.count, cur.count) if base.noise else None
                row.update(effect=effect, noise_band=band)
                if band is not None:
                    row["beyond_noise"] = raw > band and effect >= cfg.floor
                    row["earned"] = raw > policy.noise_margin * band and effect >= cfg.floor
                row["statistic"], row["p_value"] = (
                    ks_p_value(ref_d, cur_d) if test == "ks" else chi2_p_value(ref_d, cur_d)
                )
        pending.append(row)
    tested = [r for r in pending if r["p_value"] is not None]
    for r, adjusted in zip(tested, benjamini_hochberg([r["p_value"] for r in tested]), strict=True):
        r["p_value_adjusted"] = adjusted
    results = []
    for r in pending:
        adj: float | None = r.get("p_value_adjusted")
        if r["score"] is None or adj is None:
            r.update(p_value_adjusted=None, drifted=False, severity="insufficient_data")
        else:
            significant = adj < policy.p_value
            above = r["score"] >= r["threshold"]
            drifted = significant and (above or r.get("earned", False))
            warn = significant and r["score"] >= r["warn_threshold"]
            r.update(drifted=drifted, severity="drift" if drifted else "warn" if warn else "none")
            if drifted:
                r["drift_reason"] = (
                    f"above the threshold {r['threshold']:g}"
                    if above
                    else f"beyond {policy.noise_margin:g}x its noise band ({r['noise_band']:.3g} at "
                    f"{r['n_current']:,} rows), effect {r['effect']:.3g} above the floor {r['floor']:g}"
                )
        r.pop("earned", None)
        results.append(FeatureResult(**r))
    return DriftResult(features=results, dataset=dataset_drift(results, policy.dataset_drift_share))


def mark_persistent(result: DriftResult, reasons: Mapping[str, str]) -> DriftResult:
    """The result with the named features drifted for persistence (reason e.g. "persistent: 6 of
    the last 6 batches beyond the noise band"), the dataset share recomputed. Features already
    drifted keep their own reason; names not in the result are ignored."""
    features = []
    for f in result.features:
        if f.name in reasons and not f.drifted and f.severity != "insufficient_data":
            f = f.model_copy(update={"drifted": True, "severity": "drift", "drift_reason": reasons[f.name]})
        features.append(f)
    return DriftResult(features=features, dataset=dataset_drift(features, result.dataset.threshold))


def dataset_drift(features: Sequence[FeatureResult], threshold: float) -> DatasetDrift:
    """Importance-weighted share of drifted input features among those with enough data."""
    evaluated = [
        f for f in features if f.kind in ("numeric", "categorical") and f.severity != "insufficient_data"
    ]
    total = sum(f.importance for f in evaluated)
    if evaluated and total <= 0:
        weights = {f.name: 1.0 / len(evaluated) for f in evaluated}
    else:
        weights = {f.name: (f.importance / total if total else 0.0) for f in evaluated}
    share = float(sum(weights[f.name] for f in evaluated if f.drifted))
    return DatasetDrift(
        share=share,
        threshold=threshold,
        drifted=bool(evaluated) and share >= threshold - 1e-12,
        evaluated_features=len(evaluated),
        drifted_features=[f.name for f in evaluated if f.drifted],
    )
