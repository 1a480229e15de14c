"""Scale-out: split one large upload into chunks, and merge what the chunks found. Pure (no boto3).

A batch too large for one monitor_batch run is profiled chunk by chunk (docs/scale-out.md):

- CSV and JSON Lines split into byte ranges that end on a line break; each CSV chunk is read with
  the header line prepended, so every chunk is a valid file on its own. Records must not contain
  line breaks inside quoted values: a record cut at a boundary makes its chunk unreadable, which
  quarantines the batch with the parse error (never a verdict from a wrong split).
- Parquet splits into groups of whole row groups (read through the footer with ranged reads).
- gzip streams cannot be split (a deflate stream has no seek points): a gzip object is one chunk,
  and one above the ingest limit ``max_object_bytes`` is refused with a reason (upload it
  uncompressed or split).

Profiles merge exactly (counts add, moments merge: domain.profile). What does not merge exactly is
stated where it is merged: contract findings are counted per chunk and summed (the 1% unparsable
rejection threshold applies per chunk); duplicate ids are counted within chunks (an id repeated in
two chunks is not counted); PII is scanned on each chunk's own sample (more rows than one run scans).
The multivariate check needs rows: each chunk keeps a seeded uniform sample with random keys, and
the merge keeps the ``SAMPLE_ROWS`` smallest keys overall, a uniform sample of the whole batch.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BatchRejected, LimitExceeded
from .baseline import SAMPLE_ROWS, Baseline, sample_rows
from .contract import ContractFinding
from .ingest import BatchFormat, IngestLimits, check_parquet_size, detect_format, too_many_columns
from .report import PiiColumnFinding, PiiSummary

#: reads bytes ``[start, end)`` of the object being planned (S3 GetObject Range)
ReadRange = Callable[[int, int], bytes]

_HEAD_BYTES = 64 * 1024
_BLANK_TAIL_BYTES = 64 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Chunk(_Model):
    """One unit of work: bytes ``[start, end)`` (plus ``[0, header_end)`` first), or row groups."""

    index: int
    start: int
    end: int
    header_end: int = Field(0, description="CSV: the header line, prepended to every chunk")
    row_groups: list[int] = Field(default_factory=list, description="Parquet: row groups of this chunk")

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


class ChunkPlan(_Model):
    format: BatchFormat
    gzipped: bool = False
    size: int
    target_bytes: int
    chunks: list[Chunk]
    note: str | None = None


class RangeFile(io.RawIOBase):
    """A read-only seekable file over ranged reads: pyarrow reads only a Parquet file's footer and
    the row groups asked for."""

    def __init__(self, read: ReadRange, size: int) -> None:
        self._read, self._size, self._pos = read, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        data = self._read(self._pos, end) if end > self._pos else b""
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- planning -------------------------------------------------------------------------------
def plan_chunks(
    read: ReadRange,
    size: int,
    filename: str,
    *,
    target_bytes: int,
    limits: IngestLimits | None = None,
) -> ChunkPlan:
    """Split an object of ``size`` bytes into chunks of about ``target_bytes`` (see the module doc)."""
    if size <= 0:
        raise BatchRejected("file is empty: upload a header row and at least one data row", code="empty_file")
    limits = limits or IngestLimits()
    target = max(1, int(target_bytes))
    head = read(0, min(size, _HEAD_BYTES))
    fmt, gzipped = detect_format(filename, head)
    if gzipped:
        if size > limits.max_object_bytes:
            raise LimitExceeded(
                f"gzip file is {size / 2**20:.1f} MiB: a gzip stream cannot be split into chunks and one "
                f"function reads at most {limits.max_object_bytes / 2**20:.0f} MiB; upload it "
                "uncompressed (CSV/JSON Lines), as Parquet, or split it into smaller files",
                code="gzip_not_splittable",
            )
        return ChunkPlan(
            format=fmt,
            gzipped=True,
            size=size,
            target_bytes=target,
            chunks=[Chunk(index=0, start=0, end=size)],
            note="gzip streams cannot be split: the whole object is one chunk",
        )
    if fmt == "parquet":
        return _plan_parquet(read, size, target, limits)
    return _plan_lines(read, size, fmt, target, limits)


def _next_line_end(read: ReadRange, size: int, pos: int, limits: IngestLimits) -> int:
    """The offset just after the first line break at or after ``pos`` (``size`` if none); reads 4 KiB
    first and widens up to ``max_line_bytes``, so planning costs a few small ranged GETs per chunk."""
    window = 4096
    while True:
        end = min(size, pos + min(window, limits.max_line_bytes + 1))
        newline = read(pos, end).find(b"\n")
        if newline >= 0:
            return pos + newline + 1
        if end >= size:
            return size
        if end - pos > limits.max_line_bytes:
            raise LimitExceeded(
                f"no line break within {limits.max_line_bytes} bytes after byte {pos} "
                "(IngestLimits.max_line_bytes): check the quoting or split the field",
                code="line_too_long",
            )
        window *= 16


def _plan_lines(read: ReadRange, size: int, fmt: BatchFormat, target: int, limits: IngestLimits) -> ChunkPlan:
    header_end = _next_line_end(read, size, 0, limits) if fmt == "csv" else 0
    chunks: list[Chunk] = []
    pos = header_end
    while pos < size:
        end = size if pos + target >= size else _next_line_end(read, size, pos + target - 1, limits)
        if size - end <= _BLANK_TAIL_BYTES and not read(end, size).strip():
            end = size  # only blank lines left: they belong to this chunk, not to an empty one
        chunks.append(Chunk(index=len(chunks), start=pos, end=end, header_end=header_end))
        pos = end
    if not chunks:  # a header and nothing else: one chunk, which the reader rejects with "no_rows"
        chunks.append(Chunk(index=0, start=header_end, end=size, header_end=header_end))
    return ChunkPlan(format=fmt, size=size, target_bytes=target, chunks=chunks)


def _plan_parquet(read: ReadRange, size: int, target: int, limits: IngestLimits) -> ChunkPlan:
    try:
        meta = pq.ParquetFile(RangeFile(read, size)).metadata
    except Exception as exc:
        raise BatchRejected(
            f"not a readable Parquet file ({type(exc).__name__}): re-export it", code="parse_error"
        ) from None
    if meta.num_columns > limits.max_columns:
        raise too_many_columns(meta.num_columns, limits)
    chunks: list[Chunk] = []
    group: list[int] = []
    group_bytes = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        compressed = sum(rg.column(j).total_compressed_size for j in range(rg.num_columns))
        # the ingest limits, per row group, before a chunk decodes it
        check_parquet_size(rg.total_byte_size, compressed, limits, what=f"row group {i}")
        if group and group_bytes + compressed > target:
            chunks.append(Chunk(index=len(chunks), start=0, end=size, row_groups=group))
            group, group_bytes = [], 0
        group.append(i)
        group_bytes += compressed
    if group or not chunks:
        chunks.append(Chunk(index=len(chunks), start=0, end=size, row_groups=group))
    note = None if meta.num_row_groups > 1 else "one row group: Parquet splits only between row groups"
    return ChunkPlan(format="parquet", size=size, target_bytes=target, chunks=chunks, note=note)


def chunk_payload(read: ReadRange, plan: ChunkPlan, chunk: Chunk) -> bytes:
    """The bytes of one chunk as a file of its own (CSV: header + lines; Parquet: its row groups)."""
    if plan.format == "parquet" and not plan.gzipped:
        try:
            table = pq.ParquetFile(RangeFile(read, plan.size)).read_row_groups(chunk.row_groups)
        except (pa.ArrowException, OSError) as exc:  # corrupt pages: the file's fault, not a retry's
            raise BatchRejected(
                f"row groups {chunk.row_groups} are not readable ({type(exc).__name__}): re-export the file",
                code="parse_error",
            ) from None
        out = io.BytesIO()
        pq.write_table(table, out)
        return out.getvalue()
    header = read(0, chunk.header_end) if chunk.header_end else b""
    return header + read(chunk.start, chunk.end)


# --- the multivariate sample ----------------------------------------------------------------
class ChunkSample(_Model):
    """Rows of one chunk for the domain classifier, each with a uniform random key."""

    keys: list[float] = Field(default_factory=list)
    numeric: dict[str, list[float | None]] = Field(default_factory=dict)
    categorical: dict[str, list[str | None]] = Field(default_factory=dict)


def chunk_sample(
    table: pa.Table, baseline: Baseline, *, seed: int, index: int, size: int = SAMPLE_ROWS
) -> ChunkSample:
    """Keep the ``size`` rows with the smallest seeded random keys (bottom-k: mergeable)."""
    present = set(table.column_names)
    numeric = [c for c in baseline.sample.numeric if c in present]
    categorical = [c for c in baseline.sample.categorical if c in present]
    keys = np.random.default_rng([seed, index]).random(table.num_rows)
    keep = np.sort(np.argsort(keys, kind="stable")[:size])
    sub = table.take(pa.array(keep, pa.int64())) if len(keep) < table.num_rows else table
    num, cat = sample_rows(sub, numeric, categorical, sub.num_rows, seed)
    return ChunkSample(
        keys=keys[keep].tolist(),
        numeric={c: [None if np.isnan(v) else float(v) for v in values] for c, values in num.items()},
        categorical=cat,
    )


def merge_samples(samples: Sequence[ChunkSample], size: int = SAMPLE_ROWS) -> pa.Table:
    """The ``size`` rows with the smallest keys over all chunks: a uniform sample of the batch."""
    keys = np.concatenate([np.asarray(s.keys, dtype=np.float64) for s in samples]) if samples else np.zeros(0)
    order = np.argsort(keys, kind="stable")[:size]
    columns: dict[str, pa.Array] = {}
    first = samples[0] if samples else ChunkSample()
    for name in first.numeric:
        values = [v for s in samples for v in s.numeric.get(name, [None] * len(s.keys))]
        columns[name] = pa.array([values[i] for i in order], pa.float64())
    for name in first.categorical:
        texts = [v for s in samples for v in s.categorical.get(name, [None] * len(s.keys))]
        columns[name] = pa.array([texts[i] for i in order], pa.string())
    return pa.table(columns) if columns else pa.table({"_rows": pa.nulls(len(order))})


# --- contract findings and PII --------------------------------------------------------------
def merge_findings(per_chunk: Sequence[Sequence[Mapping[str, Any]]]) -> list[ContractFinding]:
    """One finding per (check, column, severity): counts summed, the first chunk's sentence kept."""
    merged: dict[tuple[str, str | None, str], list[Any]] = {}
    for findings in per_chunk:
        for f in findings:
            key = (str(f["check"]), f.get("column"), str(f["severity"]))
            if key not in merged:
                merged[key] = [int(f.get("count") or 0), str(f["message"]), 1]
            else:
                merged[key][0] += int(f.get("count") or 0)
                merged[key][2] += 1
    out = []
    for (check, column, severity), (count, message, chunks) in merged.items():
        if check in ("extra_columns", "missing_timestamp"):
            count = count // chunks  # the same columns in every chunk
        elif chunks > 1:
            message = f"{count} in total over {chunks} chunks; first chunk: {message}"
        out.append(ContractFinding(check, column, severity, message, count))  # type: ignore[arg-type]
    return out


def merge_pii(summaries: Sequence[PiiSummary], action: str) -> PiiSummary:
    """Counts per (column, kind) summed; shares over all rows scanned."""
    rows = sum(s.rows_scanned for s in summaries)
    counts: dict[tuple[str, str], int] = {}
    for s in summaries:
        for f in s.findings:
            counts[(f.column, f.kind)] = counts.get((f.column, f.kind), 0) + f.count
    findings = [
        PiiColumnFinding(column=c, kind=k, count=n, share=n / rows if rows else 0.0)
        for (c, k), n in sorted(counts.items())
    ]
    return PiiSummary(
        action=action, rows_scanned=rows, columns=sorted({c for c, _ in counts}), findings=findings
    )
