"""Noise bands: how much each column's drift statistic moves without drift, learned from its reference.

At baseline-build time every monitored column's reference values are resampled: ``BOOTSTRAP_CHUNKS``
chunks of ``chunk_rows`` drawn with replacement, plus up to ``CONTIGUOUS_CHUNKS`` consecutive chunks
(which also carry whatever moved within the reference period). Each chunk is scored against the
whole reference with every applicable drift method, on the baseline's own bins, exactly as a batch
is. A chunk drawn from the reference scores like a batch of ``chunk_rows`` against an infinitely
large reference (variance ~ 1/m; 1/m - 1/n for a consecutive chunk, which is drawn without
replacement), so the stored band is normalized by sqrt(chunk_rows) and scaled at detection time to
the batch: ``band(m) = scaled * sqrt(1/m + 1/n)``. See docs/drift-methods.md ("Noise bands").

Cost: one binning pass over ~220k values (over the reference itself when it is smaller) and ~220
scores per method per column, whatever the reference size: ~8 ms of CPU per numeric column on the
2-core bench machine, the largest fixed cost of a 10k-row `steward check` (docs/performance.md).
"""

from __future__ import annotations

import math

import numpy as np

from .baseline import CategoricalBaseline, NoiseBand, NumericBaseline, bin_index
from .drift import METHODS, Distribution, _coarse_positions, _scale, coarse_counts, pool_rare_rows

NOISE_QUANTILE = 0.99  # the band is the 99th percentile of the no-drift score
CHUNK_ROWS = 1000
BOOTSTRAP_CHUNKS = 200
CONTIGUOUS_CHUNKS = 20
MIN_CONTIGUOUS = 5  # fewer consecutive chunks than this say nothing about their spread
BLOCK_CHUNKS = 44  # chunks scored together: 44 x 1002 bins x 8 bytes = 350 KB per temporary
MIN_CHUNK_ROWS = 50  # a reference too short for chunks of this size gets no band (today's rule applies)


def _chunk_rows(n: int) -> int:
    return min(CHUNK_ROWS, n // 4)


def _chunk_indices(n: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Row indices of the bootstrap chunks then the consecutive ones, and how many consecutive ones."""
    boot = rng.integers(0, n, size=BOOTSTRAP_CHUNKS * m)
    contiguous = min(CONTIGUOUS_CHUNKS, n // m)
    if contiguous < MIN_CONTIGUOUS:
        return boot, 0
    starts = np.linspace(0, n - m, contiguous).astype(np.int64)
    consecutive = (starts[:, None] + np.arange(m)[None, :]).ravel()
    return np.concatenate([boot, consecutive]), contiguous


def _band(scores: dict[str, np.ndarray], m: int, n: int, contiguous: int) -> dict[str, float]:
    """Normalize (x sqrt(m), or / sqrt(1/m - 1/n) for consecutive chunks) and take the quantile."""
    root = math.sqrt(m)
    finite = math.sqrt(max(1.0 / m - 1.0 / n, 1e-12))
    out = {}
    for name, values in scores.items():
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        boot = float(np.quantile(arr[:BOOTSTRAP_CHUNKS], NOISE_QUANTILE)) * root
        consecutive = float(arr[BOOTSTRAP_CHUNKS:].max()) / finite if contiguous else 0.0
        out[name] = max(boot, consecutive)
    return out


def _stacked(
    x: np.ndarray,
    bins: np.ndarray,
    rows: int,
    m: int,
    edges: np.ndarray,
    pos_coarse: np.ndarray,
    scale: float,
) -> Distribution:
    """``rows`` consecutive chunks of ``m`` values (with their fine bins) as one stacked Distribution."""
    k = len(edges)
    flat = np.repeat(np.arange(rows) * (k + 1), m)
    flat += bins
    counts = np.bincount(flat, minlength=rows * (k + 1)).reshape(rows, k + 1)
    positions = np.zeros((rows, k + 1))
    if k > 1:
        sums = np.bincount(flat, weights=x, minlength=rows * (k + 1)).reshape(rows, k + 1)
        inner = counts[:, 1:k]
        # in place, element for element what offsets / (inner * widths) gives, 0 in empty bins
        offsets = inner * edges[:-1]
        np.subtract(sums[:, 1:k], offsets, out=offsets)
        widths = inner * np.diff(edges)
        pos = np.zeros(offsets.shape)
        np.divide(offsets, widths, out=pos, where=inner > 0)
        np.clip(pos, 0.0, 1.0, out=positions[:, 1:k])
    coarse = coarse_counts(counts, pos_coarse, m)
    return Distribution("numeric", m, coarse, counts, positions, edges, scale=scale)


def numeric_band(values: np.ndarray, base: NumericBaseline, rng: np.random.Generator) -> NoiseBand | None:
    """Band of a numeric column from its finite reference values in row order."""
    n = len(values)
    m = _chunk_rows(n)
    if m < MIN_CHUNK_ROWS or len(base.edges) == 0 or n != base.count:
        return None
    idx, contiguous = _chunk_indices(n, m, rng)
    chunks = len(idx) // m
    edges = np.asarray(base.edges, dtype=np.float64)
    x = values[idx]
    # a reference smaller than the chunks drawn from it (10k rows, 220k drawn) is binned once
    bins = bin_index(values, edges)[idx] if n < len(idx) else bin_index(x, edges)
    pos_coarse = _coarse_positions(base)
    scale = _scale(base)
    ref_grid = np.asarray(base.grid_counts, dtype=np.int64)
    reference = Distribution(
        "numeric",
        base.count,
        coarse_counts(ref_grid, pos_coarse, base.count),
        ref_grid,
        np.asarray(base.grid_positions, dtype=np.float64),
        edges,
        scale=scale,
    )
    methods = {name: method for name, method in METHODS.items() if "numeric" in method.data_types}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in methods}
    # many chunks at once, one row each (a Python loop over 220 chunks x methods cost ~30 ms per
    # column), in blocks of rows: rows are independent, so every score is the one the whole stack
    # gives, bit for bit, while ~1.8 MB temporaries freed and page-faulted in again (glibc returns
    # them to the system) cost ~100k page faults, ~0.1 s of system time per 20 columns
    for first in range(0, chunks, BLOCK_CHUNKS):
        rows = min(BLOCK_CHUNKS, chunks - first)
        part = slice(first * m, (first + rows) * m)
        stacked = _stacked(x[part], bins[part], rows, m, edges, pos_coarse, scale)
        for name, method in methods.items():
            parts[name].append(method.scores(reference, stacked))
    scores = {name: np.concatenate(p) for name, p in parts.items()}
    return NoiseBand(
        quantile=NOISE_QUANTILE,
        chunk_rows=m,
        bootstrap_chunks=BOOTSTRAP_CHUNKS,
        contiguous_chunks=contiguous,
        scaled=_band(scores, m, n, contiguous),
    )


def categorical_band(
    codes: np.ndarray, base: CategoricalBaseline, rng: np.random.Generator
) -> NoiseBand | None:
    """Band of a categorical column from its non-null reference codes (baseline categories, last = other)."""
    n = len(codes)
    m = _chunk_rows(n)
    if m < MIN_CHUNK_ROWS or n != base.count:
        return None
    idx, contiguous = _chunk_indices(n, m, rng)
    chunks = len(idx) // m
    k = len(base.categories) + 1
    flat = np.repeat(np.arange(chunks) * k, m) + codes[idx]
    counts = np.bincount(flat, minlength=chunks * k).reshape(chunks, k)
    ref_counts = np.asarray([*base.counts, base.other], dtype=np.int64)
    methods = {name: method for name, method in METHODS.items() if "categorical" in method.data_types}
    ref_bins, cur_bins = pool_rare_rows(ref_counts, counts)
    reference, stacked = Distribution("categorical", n, ref_bins), Distribution("categorical", m, cur_bins)
    scores = {name: method.scores(reference, stacked) for name, method in methods.items()}
    return NoiseBand(
        quantile=NOISE_QUANTILE,
        chunk_rows=m,
        bootstrap_chunks=BOOTSTRAP_CHUNKS,
        contiguous_chunks=contiguous,
        scaled=_band(scores, m, n, contiguous),
    )
