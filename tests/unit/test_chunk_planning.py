"""Chunk planning for scale-out (domain.chunking): line alignment, CSV headers, Parquet row groups, gzip."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.domain.chunking import ReadRange, chunk_payload, plan_chunks
from modelsteward.domain.ingest import IngestLimits, read_table
from modelsteward.errors import LimitExceeded


def reader(data: bytes) -> tuple[ReadRange, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        calls.append((start, end))
        return data[start:end]

    return read, calls


def csv_bytes(rows: int) -> bytes:
    lines = ["id,amount,region"] + [f"{i},{i * 1.5},r{i % 7}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_csv_chunks_end_on_line_breaks_and_repeat_the_header() -> None:
    data = csv_bytes(5000)
    read, _ = reader(data)
    plan = plan_chunks(read, len(data), "batch.csv", target_bytes=10_000)
    assert len(plan.chunks) >= 4
    header_end = data.index(b"\n") + 1
    assert plan.chunks[0].start == header_end and plan.chunks[-1].end == len(data)
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.end == after.start and data[before.end - 1 : before.end] == b"\n"
    ids = []
    for chunk in plan.chunks:
        payload = chunk_payload(read, plan, chunk)
        assert payload.startswith(b"id,amount,region\n")
        ids += read_table(payload, "batch.csv").column("id").to_pylist()
    assert ids == [str(i) for i in range(5000)]  # every row exactly once, in order


def test_jsonl_chunks_have_no_header_and_cover_every_line() -> None:
    data = b"".join(b'{"id": %d, "x": %d}\n' % (i, i) for i in range(3000))
    read, _ = reader(data)
    plan = plan_chunks(read, len(data), "batch.jsonl", target_bytes=8_000)
    assert plan.format == "jsonl" and len(plan.chunks) >= 4
    assert all(c.header_end == 0 for c in plan.chunks)
    rows = sum(read_table(chunk_payload(read, plan, c), "b.jsonl").num_rows for c in plan.chunks)
    assert rows == 3000


def test_planning_reads_only_small_windows_not_the_object() -> None:
    data = csv_bytes(50_000)
    read, calls = reader(data)
    plan_chunks(read, len(data), "batch.csv", target_bytes=100_000)
    assert sum(end - start for start, end in calls) < len(data) / 4


def test_trailing_blank_lines_do_not_become_an_empty_chunk() -> None:
    data = csv_bytes(1000) + b"\n\n\n"
    read, _ = reader(data)
    plan = plan_chunks(read, len(data), "batch.csv", target_bytes=len(data) - 2)
    assert len(plan.chunks) == 1 and plan.chunks[0].end == len(data)


def test_parquet_splits_between_row_groups() -> None:
    table = pa.table({"id": [str(i) for i in range(10_000)], "x": [float(i) for i in range(10_000)]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=1000)
    data = out.getvalue()
    read, _ = reader(data)
    plan = plan_chunks(read, len(data), "batch.parquet", target_bytes=len(data) // 4)
    assert plan.format == "parquet" and len(plan.chunks) >= 3
    groups = [g for c in plan.chunks for g in c.row_groups]
    assert groups == list(range(10))
    ids = []
    for chunk in plan.chunks:
        ids += read_table(chunk_payload(read, plan, chunk), "b.parquet").column("id").to_pylist()
    assert ids == table.column("id").to_pylist()


def test_gzip_is_one_chunk_and_refused_when_too_large_for_one_function() -> None:
    data = gzip.compress(csv_bytes(2000))
    read, _ = reader(data)
    plan = plan_chunks(read, len(data), "batch.csv.gz", target_bytes=100)
    assert plan.gzipped and len(plan.chunks) == 1 and "cannot be split" in (plan.note or "")
    from modelsteward.domain.ingest import IngestLimits

    with pytest.raises(LimitExceeded) as refused:
        plan_chunks(
            read, len(data), "batch.csv.gz", target_bytes=100, limits=IngestLimits(max_object_bytes=100)
        )
    assert refused.value.code == "gzip_not_splittable"


def test_parquet_limits_are_checked_from_the_footer_before_any_chunk_decompresses() -> None:
    values = pa.table({"x": pa.array(np.random.default_rng(0).normal(size=200_000))})  # 1.6 MB of float64
    buf = io.BytesIO()
    pq.write_table(values, buf, row_group_size=100_000)
    data = buf.getvalue()
    read, _ = reader(data)
    tight = IngestLimits(max_decompressed_bytes=1_500_000)  # each row group states ~1.0 MB: fine
    assert len(plan_chunks(read, len(data), "batch.parquet", target_bytes=10_000, limits=tight).chunks) == 2
    one_group = io.BytesIO()
    pq.write_table(values, one_group, row_group_size=200_000)
    data = one_group.getvalue()
    read, _ = reader(data)
    with pytest.raises(LimitExceeded) as big:
        plan_chunks(read, len(data), "batch.parquet", target_bytes=10_000, limits=tight)
    assert big.value.code == "decompressed_too_large" and "row group 0" in big.value.message
    with pytest.raises(LimitExceeded) as wide:
        plan_chunks(read, len(data), "batch.parquet", target_bytes=10_000, limits=IngestLimits(max_columns=0))
    assert wide.value.code == "too_many_columns"
