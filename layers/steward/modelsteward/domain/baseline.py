"""The baseline: reference statistics computed once and stored as JSON, never a re-read of reference data.

Per numeric column it keeps a fine quantile grid (1001 reference quantiles, or every distinct value
when there are fewer) with the reference counts on it; KS and Wasserstein are evaluated on that
grid, and PSI / Jensen-Shannon on coarse equal-frequency bins whose edges are a subset of the grid,
so a batch profile needs ONE bin pass per column and stays exactly mergeable. Per categorical column
it keeps the top-K category frequencies plus an ``__other__`` bucket. A small seeded reference sample
feeds the multivariate domain classifier; moments, ranges and domains feed the quality checks.

Column helpers here read pyarrow buffers with numpy directly (no pandas in the monitoring path).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BatchRejected
from ..spec import ModelSpec
from .assessment_record import DataType

SCHEMA_VERSION: Literal["1.0"] = "1.0"
GRID_QUANTILES = 1001  # fine grid for KS / Wasserstein: reference quantiles at 0, 0.001, ..., 1
COARSE_BINS = 10  # equal-frequency bins for PSI / Jensen-Shannon (deciles, open ends)
DISPLAY_BINS = 20  # equal-frequency bins drawn in reports
TOP_CATEGORIES = 200  # known categories kept per categorical column (+ "__other__")
SAMPLE_ROWS = 2000  # reference rows kept for the multivariate check
RANGE_MARGIN = 0.01  # out-of-range means outside [min, max] widened by 1% of the range each side
OTHER = "__other__"
PARALLEL_ROWS = 50_000  # below this, threads cost more than they save

Role = Literal["feature", "prediction", "probability", "label"]


# --- reading columns without pandas ---------------------------------------------------------
def _combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _validity(arr: pa.Array) -> np.ndarray | None:
    """Boolean mask of valid slots, or None when there are no nulls."""
    if arr.null_count == 0:
        return None
    bitmap = arr.buffers()[0]
    if bitmap is None:  # all-null arrays of the null type
        return np.zeros(len(arr), dtype=bool)
    bits = np.unpackbits(
        np.frombuffer(bitmap, dtype=np.uint8), count=arr.offset + len(arr), bitorder="little"
    )
    return bits[arr.offset :].astype(bool)


def float_array(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Row-aligned float64 values with NaN where null (zero-copy for null-free float64 columns)."""
    arr = _combined(column)
    if not pa.types.is_float64(arr.type):
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise BatchRejected(f"column of type {arr.type} cannot be read as a number") from exc
    n = len(arr)
    data = arr.buffers()[1]
    if data is None:
        return np.full(n, np.nan)
    values = np.frombuffer(data, dtype=np.float64, count=arr.offset + n)[arr.offset :]
    valid = _validity(arr)
    if valid is not None:
        values = np.where(valid, values, np.nan)
    return values


@dataclass(frozen=True)
class NumericSummary:
    """A numeric column split into finite values and counts of what was left out."""

    finite: np.ndarray
    missing: int  # null or NaN
    non_finite: int  # +-inf


def numeric_summary(column: pa.ChunkedArray | pa.Array) -> NumericSummary:
    values = float_array(column)
    finite_mask = np.isfinite(values)
    if finite_mask.all():
        return NumericSummary(values, 0, 0)
    nan = int(np.isnan(values).sum())
    return NumericSummary(values[finite_mask], nan, int(len(values) - finite_mask.sum() - nan))


@dataclass(frozen=True)
class ValueCounts:
    """Distinct non-null values of a string column with their counts (dictionary order)."""

    values: list[str]
    counts: np.ndarray
    missing: int


def dictionary_encoded(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """The column as a dictionary array (text as is, other types as their text); a dictionary column
    is returned unchanged, so a caller that needs several passes encodes once (~10 ms per 1M rows)."""
    arr = _combined(column)
    if pa.types.is_dictionary(arr.type):
        return arr
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return pc.dictionary_encode(arr)


def value_counts(column: pa.ChunkedArray | pa.Array) -> ValueCounts:
    """Count distinct values with one dictionary-encode and one bincount (no Python loop over rows)."""
    arr = dictionary_encoded(column)
    dictionary = arr.dictionary
    if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
        dictionary = pc.cast(dictionary, pa.string())
    indices = arr.indices
    width = indices.type.bit_width
    dtype = np.dtype(f"{'u' if pa.types.is_unsigned_integer(indices.type) else ''}int{width}")
    n = len(indices)
    idx = np.frombuffer(indices.buffers()[1], dtype=dtype, count=indices.offset + n)[indices.offset :]
    valid = _validity(indices)
    if valid is not None:
        idx = idx[valid]
    counts = np.bincount(idx, minlength=len(dictionary)) if len(idx) else np.zeros(len(dictionary), np.int64)
    values = dictionary.to_pylist()
    # a dictionary may carry a null entry: count it as missing
    missing = int(arr.null_count)
    keep = [i for i, v in enumerate(values) if v is not None]
    if len(keep) != len(values):
        missing += int(counts[[i for i, v in enumerate(values) if v is None]].sum())
        values = [values[i] for i in keep]
        counts = counts[keep]
    return ValueCounts(values, counts.astype(np.int64), missing)


def category_codes(column: pa.ChunkedArray | pa.Array, categories: Sequence[str]) -> np.ndarray:
    """Per non-null row in row order, its value's position in ``categories`` (len(categories): other).

    One dictionary-encode and a lookup per distinct value, like ``value_counts`` (``pa.array`` of a
    list, or ``index_in``, would import pandas on the monitoring path's cold start).
    """
    arr = dictionary_encoded(column)
    dictionary = arr.dictionary
    if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
        dictionary = pc.cast(dictionary, pa.string())
    position = {c: i for i, c in enumerate(categories)}
    lookup = np.asarray(
        [-1 if v is None else position.get(v, len(categories)) for v in dictionary.to_pylist()], np.int64
    )
    indices = arr.indices
    width = indices.type.bit_width
    dtype = np.dtype(f"{'u' if pa.types.is_unsigned_integer(indices.type) else ''}int{width}")
    n = len(indices)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.frombuffer(indices.buffers()[1], dtype=dtype, count=indices.offset + n)[indices.offset :]
    valid = _validity(indices)
    if valid is not None:
        idx = idx[valid]
    codes = lookup[idx] if len(lookup) else np.zeros(0, dtype=np.int64)
    return codes[codes >= 0]


def is_numeric_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


# --- the fine grid: binning shared by baselines and profiles ---------------------------------
_CELLS = 1 << 16  # lookup-table cells for binning against the fine grid
_MAX_STEPS = 4  # exact corrections per value the lookup may need before falling back
POSITION_DECIMALS = 4  # mean position inside a bin is stored to 1e-4 of the bin width


def _signed_log(v: np.ndarray) -> np.ndarray:
    return np.asarray(np.sign(v) * np.log1p(np.abs(v)))


@functools.lru_cache(maxsize=512)
def _lookup_table(edges_bytes: bytes, transform: bool) -> tuple[np.ndarray, int, float, float] | None:
    """(start bin per cell, corrections needed, grid origin, cells per unit); cached per baseline column."""
    edges = np.frombuffer(edges_bytes, dtype=np.float64)
    k = len(edges)
    grid = _signed_log(edges) if transform else edges
    lo, hi = float(grid[0]), float(grid[-1])
    if not hi > lo:
        return None
    scale = _CELLS / (hi - lo)
    bounds = lo + np.arange(_CELLS + 1) / scale
    first = np.searchsorted(grid, bounds[:-1], side="left")
    start = np.concatenate([[0], first[:-1]]).astype(np.intp)  # one cell of slack: float rounding
    last = np.searchsorted(grid, bounds[1:], side="right")
    last[-1] = k
    steps = int((last - start).max())
    if steps > _MAX_STEPS:
        return None
    return start, steps, lo, scale


def _lookup_bins(x: np.ndarray, edges: np.ndarray, transform: bool) -> np.ndarray | None:
    """Bin index (= number of edges < x) via a uniform lookup table plus a few exact corrections.

    The table maps each of ``_CELLS`` equal cells over [edges[0], edges[-1]] (optionally on a signed
    log scale, for heavy tails) to the number of edges left of the previous cell; ``steps``
    vectorized comparisons against the real edges then finish the job exactly. Returns None when a
    cell holds too many edges for that to be cheap. Temporaries are reused: at a million rows every
    extra array is 8 MB of page faults.
    """
    table = _lookup_table(np.ascontiguousarray(edges, dtype=np.float64).tobytes(), transform)
    if table is None:
        return None
    start, steps, lo, scale = table
    cell = _signed_log(x) if transform else x.copy()
    cell -= lo
    cell *= scale
    np.clip(cell, 0, _CELLS - 1, out=cell)
    idx = cell.astype(np.intp)
    del cell
    np.take(start, idx, out=idx)
    padded = np.append(edges, np.inf)
    for _ in range(steps):
        idx += np.take(padded, idx) < x
    return idx


def bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fine-grid bin of each value: the number of edges below it (bin 0 is (-inf, e0]).

    Equal to ``np.searchsorted(edges, x, side="left")`` but O(n) in practice (3-8x faster at 1000
    edges): a few comparisons for short grids, else a lookup table, else the binary search.
    """
    k = len(edges)
    if k <= 16:
        idx = np.zeros(len(x), dtype=np.intp)
        for e in edges:
            idx += x > e
        return idx
    for transform in (False, True):
        found = _lookup_bins(x, edges, transform)
        if found is not None:
            return found
    return np.searchsorted(edges, x, side="left")


@dataclass(frozen=True)
class GridSummary:
    """Counts per fine bin and the mean relative position of the values inside each inner bin."""

    counts: np.ndarray  # len(edges) + 1
    positions: np.ndarray  # 0 = at the bin's left edge, 1 = at its right edge; 0 for the open end bins


def grid_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return summarize_grid(x, edges).counts


def summarize_grid(x: np.ndarray, edges: np.ndarray) -> GridSummary:
    """Bin finite values into the fine grid; the positions make Wasserstein exact inside wide bins."""
    k = len(edges)
    if k == 0:
        return GridSummary(np.asarray([len(x)], dtype=np.int64), np.zeros(1))
    idx = bin_index(x, edges)
    counts = np.bincount(idx, minlength=k + 1)
    positions = np.zeros(k + 1)
    if k > 1:
        sums = np.bincount(idx, weights=x, minlength=k + 1)
        inner = counts[1:k]
        filled = inner > 0
        offsets = sums[1:k][filled] - inner[filled] * edges[:-1][filled]  # sum of (x - left edge)
        positions[1:k][filled] = offsets / (inner[filled] * np.diff(edges)[filled])
    return GridSummary(counts, np.clip(np.round(positions, POSITION_DECIMALS), 0.0, 1.0))


def summarize_sorted_grid(x: np.ndarray, edges: np.ndarray) -> GridSummary:
    """``summarize_grid`` of ascending values: bins are runs, found by one search per edge (no per-value
    binning), and each bin's values are summed run by run."""
    k, n = len(edges), len(x)
    if k == 0:
        return GridSummary(np.asarray([n], dtype=np.int64), np.zeros(1))
    bounds = np.concatenate([[0], np.searchsorted(x, edges, side="right"), [n]])
    counts = np.diff(bounds)
    positions = np.zeros(k + 1)
    if k > 1 and n:
        filled = counts > 0
        sums = np.zeros(k + 1)
        sums[filled] = np.add.reduceat(x, bounds[:-1][filled])  # empty runs in between have no length
        inner = counts[1:k]
        full = inner > 0
        offsets = sums[1:k][full] - inner[full] * edges[:-1][full]  # sum of (x - left edge)
        positions[1:k][full] = offsets / (inner[full] * np.diff(edges)[full])
    return GridSummary(counts, np.clip(np.round(positions, POSITION_DECIMALS), 0.0, 1.0))


# --- the columns a baseline covers ----------------------------------------------------------
@dataclass(frozen=True)
class MonitoredColumn:
    name: str
    role: Role
    data_type: DataType


def monitored_columns(spec: ModelSpec, available: Sequence[str]) -> list[MonitoredColumn]:
    """Features, prediction, probability and label of the spec that the data actually has."""
    present = set(available)
    cols = [MonitoredColumn(f, "feature", "numeric") for f in spec.features.numeric]
    cols += [MonitoredColumn(f, "feature", "categorical") for f in spec.features.categorical]
    outcome: DataType = "categorical" if spec.is_classifier else "numeric"
    cols.append(MonitoredColumn(spec.prediction_column, "prediction", outcome))
    if spec.probability_column:
        cols.append(MonitoredColumn(spec.probability_column, "probability", "numeric"))
    cols.append(MonitoredColumn(spec.target, "label", outcome))
    seen: set[str] = set()
    out = []
    for c in cols:
        if c.name in present and c.name not in seen:
            seen.add(c.name)
            out.append(c)
    return out


# --- the stored baseline --------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoiseBand(_Model):
    """How far a column's drift statistics move without drift, learned from the reference itself.

    ``scaled[method]`` is the ``quantile`` of the method's raw score between a resample of
    ``chunk_rows`` reference rows and the whole reference, times sqrt(chunk_rows): the score of two
    samples scales as sqrt(1/m + 1/n), so the band of a batch of m rows against this reference of n
    is ``scaled * sqrt(1/m + 1/n)`` (domain/noise.py computes and scales it). It is the larger of the
    bootstrap quantile and the largest score of contiguous reference chunks (which also carry any
    drift within the reference period), so a column that moves over the reference earns a wider band.
    """

    quantile: float = Field(description="upper quantile of the no-drift raw score the band stands for")
    chunk_rows: int = Field(description="rows per resampled reference chunk")
    bootstrap_chunks: int = Field(description="chunks drawn with replacement from the reference")
    contiguous_chunks: int = Field(description="consecutive reference chunks (0 when the reference is short)")
    scaled: dict[str, float] = Field(description="per method: band x sqrt(chunk_rows) (see above)")

    def at(self, method: str, n_reference: int, n_current: int) -> float | None:
        """The no-drift raw score (at ``quantile``) of a batch of ``n_current`` rows, or None."""
        if method not in self.scaled or n_reference <= 0 or n_current <= 0:
            return None
        return self.scaled[method] * math.sqrt(1.0 / n_current + 1.0 / n_reference)


class NumericBaseline(_Model):
    data_type: Literal["numeric"] = "numeric"
    role: Role
    count: int = Field(description="finite values")
    missing: int = Field(description="null or NaN values")
    non_finite: int = Field(0, description="+-inf values")
    mean: float
    m2: float = Field(description="sum of squared deviations from the mean")
    min: float
    max: float
    integral: bool = Field(description="every value is a whole number")
    discrete: bool = Field(description="the grid holds every distinct reference value")
    edges: list[float] = Field(description="fine grid: unique reference quantiles (or distinct values)")
    grid_counts: list[int] = Field(description="reference counts in (-inf,e0], (e0,e1], ..., (e_last,inf)")
    grid_positions: list[float] = Field(description="mean relative position of the values inside each bin")
    coarse_edges: list[float] = Field(description="inner edges of the PSI/JS bins (a subset of edges)")
    display_edges: list[float] = Field(description="inner edges of the report histogram (a subset of edges)")
    range_low: float
    range_high: float
    noise: NoiseBand | None = Field(None, description="no-drift score band (absent in older baselines)")

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing + self.non_finite
        return self.missing / total if total else 0.0


class CategoricalBaseline(_Model):
    data_type: Literal["categorical"] = "categorical"
    role: Role
    count: int = Field(description="non-null values")
    missing: int
    categories: list[str] = Field(description="top categories by reference frequency")
    counts: list[int]
    other: int = Field(description="reference values outside the top categories")
    distinct: int
    domain_complete: bool = Field(description="every reference category is listed (unseen is knowable)")
    noise: NoiseBand | None = Field(None, description="no-drift score band (absent in older baselines)")

    @property
    def missing_share(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0


ColumnBaseline = Annotated[NumericBaseline | CategoricalBaseline, Field(discriminator="data_type")]


class ReferenceSample(_Model):
    """Seeded rows of the reference features for the domain classifier (PII policy already applied)."""

    rows: int
    numeric: dict[str, list[float | None]] = Field(default_factory=dict)
    categorical: dict[str, list[str | None]] = Field(default_factory=dict)


class Baseline(_Model):
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    model: str
    model_version: int | None = None
    spec_fingerprint: str
    created_at: str
    rows: int
    columns: dict[str, ColumnBaseline]
    feature_importance: dict[str, float]
    sample: ReferenceSample
    sources: list[dict[str, Any]] = Field(default_factory=list)
    fingerprint: str = Field("", description="sha256 of the bins and categories profiles are computed on")

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes) -> Baseline:
        return cls.model_validate_json(data)

    def column(self, name: str) -> NumericBaseline | CategoricalBaseline:
        return self.columns[name]

    @property
    def features(self) -> list[str]:
        return [n for n, c in self.columns.items() if c.role == "feature"]


def spec_fingerprint(spec: ModelSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()


def bins_fingerprint(columns: Mapping[str, NumericBaseline | CategoricalBaseline]) -> str:
    """Identity of the bins a profile counts into: profiles merge only under the same fingerprint."""
    shape = {
        name: (c.edges if isinstance(c, NumericBaseline) else c.categories)
        for name, c in sorted(columns.items())
    }
    return hashlib.sha256(json.dumps(shape, separators=(",", ":")).encode()).hexdigest()


# --- building ------------------------------------------------------------------------------
def _quantile_positions(n: int, probs: np.ndarray) -> np.ndarray:
    """Inverted-CDF positions: quantiles are observed values, so point masses sit on edges."""
    return np.asarray(np.clip(np.ceil(probs * n).astype(np.int64) - 1, 0, n - 1))


def sorted_distinct(x: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array, in order (np.unique sorts again, and its first
    call imports numpy.ma: ~17 ms of a 10k-row `steward check`)."""
    if len(x) == 0:
        return x
    return np.asarray(x[np.concatenate([[True], x[1:] != x[:-1]])])


def _inner_edges(grid_quantiles: np.ndarray, parts: int, top: float) -> list[float]:
    """Edges of ``parts`` equal-frequency bins taken from the fine quantile grid (so they are grid edges)."""
    step = (GRID_QUANTILES - 1) // parts
    inner = sorted_distinct(grid_quantiles[step : GRID_QUANTILES - 1 : step])
    # the largest reference value as an inner edge would leave an always-empty top bin
    return [float(v) for v in inner if v < top]


def sum_of_squares(d: np.ndarray) -> float:
    """sum(d * d) in numpy's own loop, not BLAS: OpenBLAS splits a long dot product over every core,
    so its last digits depend on the machine, and its threads then spin for a while after each call
    (~0.6 s of CPU at 1M rows x 20 columns on 2 cores, taken from the work still to do)."""
    return float(np.einsum("i,i->", d, d))


def _integral(x: np.ndarray) -> bool:
    """Every value is whole; the first values decide most columns without a pass over all of them."""
    head = x[:1024]
    return bool(np.all(head == np.floor(head))) and bool(np.all(x == np.floor(x)))


def build_numeric(values: NumericSummary, role: Role) -> NumericBaseline:
    x = np.sort(values.finite)
    n = len(x)
    if n == 0:
        return NumericBaseline(
            role=role,
            count=0,
            missing=values.missing,
            non_finite=values.non_finite,
            mean=0.0,
            m2=0.0,
            min=0.0,
            max=0.0,
            integral=False,
            discrete=True,
            edges=[],
            grid_counts=[0],
            grid_positions=[0.0],
            coarse_edges=[],
            display_edges=[],
            range_low=0.0,
            range_high=0.0,
        )
    mean = float(x.mean())
    d = x - mean
    m2 = sum_of_squares(d)
    quantiles = x[_quantile_positions(n, np.arange(GRID_QUANTILES) / (GRID_QUANTILES - 1))]
    edges = sorted_distinct(quantiles)
    discrete = False
    if len(edges) < GRID_QUANTILES:  # ties: maybe few distinct values, then keep them all
        distinct = sorted_distinct(x)
        if len(distinct) <= GRID_QUANTILES:
            edges, discrete = distinct, True
    grid = summarize_sorted_grid(x, edges)
    lo, hi = float(x[0]), float(x[-1])
    margin = RANGE_MARGIN * (hi - lo)
    return NumericBaseline(
        role=role,
        count=n,
        missing=values.missing,
        non_finite=values.non_finite,
        mean=mean,
        m2=m2,
        min=lo,
        max=hi,
        integral=_integral(x),
        discrete=discrete,
        edges=edges.tolist(),
        grid_counts=grid.counts.tolist(),
        grid_positions=grid.positions.tolist(),
        coarse_edges=_inner_edges(quantiles, COARSE_BINS, hi),
        display_edges=_inner_edges(quantiles, DISPLAY_BINS, hi),
        range_low=lo - margin,
        range_high=hi + margin,
    )


def build_categorical(counts: ValueCounts, role: Role, top: int = TOP_CATEGORIES) -> CategoricalBaseline:
    order = sorted(range(len(counts.values)), key=lambda i: (-int(counts.counts[i]), counts.values[i]))
    order = [i for i in order if counts.counts[i] > 0]
    kept = order[:top]
    return CategoricalBaseline(
        role=role,
        count=int(counts.counts.sum()),
        missing=counts.missing,
        categories=[counts.values[i] for i in kept],
        counts=[int(counts.counts[i]) for i in kept],
        other=int(sum(int(counts.counts[i]) for i in order[top:])),
        distinct=len(order),
        domain_complete=len(order) <= top,
    )


def sample_rows(
    table: pa.Table, numeric: Sequence[str], categorical: Sequence[str], size: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, list[str | None]]]:
    """A seeded row sample: numeric columns as float arrays (NaN = missing), categoricals as strings."""
    n = table.num_rows
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)
    num = {c: float_array(table.column(c))[idx] for c in numeric}
    # built from the buffer: pa.array(ndarray) would import pandas (+1-2 s of cold start)
    positions = pa.Array.from_buffers(pa.int64(), len(idx), [None, pa.py_buffer(idx.astype(np.int64))])
    cat: dict[str, list[str | None]] = {}
    for c in categorical:
        column = _combined(table.column(c))
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.cast(column, pa.string())
        cat[c] = column.take(positions).to_pylist()
    return num, cat
