"""Reading uploads: formats, normalisation, and one test per rejection code (bytes built here)."""

from __future__ import annotations

import gzip
import io
import json
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.domain.ingest import (
    BatchFormat,
    IngestLimits,
    detect_format,
    ingest_metadata,
    read_batch,
    read_table,
)
from modelsteward.errors import BatchRejected, LimitExceeded

MiB = 2**20


def parquet_bytes(table: pa.Table, **kwargs: object) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)  # type: ignore[arg-type]
    return sink.getvalue()


def rejected(data: bytes, filename: str = "batch.csv", limits: IngestLimits | None = None) -> BatchRejected:
    with pytest.raises(BatchRejected) as info:
        read_table(data, filename, limits or IngestLimits())
    assert info.value.message.strip()
    return info.value


# --- format detection ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("a.csv", b"x,y\n1,2\n", ("csv", False)),
        ("a.jsonl", b'{"x": 1}\n', ("jsonl", False)),
        ("a.ndjson", b'{"x": 1}\n', ("jsonl", False)),
        ("a.csv", parquet_bytes(pa.table({"x": [1]})), ("parquet", False)),  # magic beats the name
        ("a.csv.gz", gzip.compress(b"x,y\n1,2\n", mtime=0), ("csv", True)),
        ("upload", gzip.compress(b'{"x": 1}\n', mtime=0), ("jsonl", True)),  # no extension: content decides
        ("upload", b"x,y\n1,2\n", ("csv", False)),
        ("a.parquet", b"x,y\n1,2\n", ("csv", False)),  # a text file named .parquet is read as text
        ("a.csv.gz", b"x,y\n1,2\n", ("csv", False)),  # already decompressed in transit
    ],
)
def test_detect_format_uses_magic_bytes_then_extension(
    filename: str, data: bytes, expected: tuple[BatchFormat, bool]
) -> None:
    assert detect_format(filename, data) == expected


# --- what is accepted ------------------------------------------------------------------------------
def test_csv_columns_stay_text_so_ids_keep_leading_zeros() -> None:
    table = read_table(b"id,amount\n007,1.50\n010,2\n", "a.csv")
    assert table.column("id").to_pylist() == ["007", "010"]
    assert table.column("amount").to_pylist() == ["1.50", "2"]
    assert all(pa.types.is_string(t) for t in table.schema.types)


@pytest.mark.parametrize(("delimiter", "name"), [(b";", ";"), (b"\t", "\t"), (b"|", "|"), (b",", ",")])
def test_delimiter_is_detected_and_recorded(delimiter: bytes, name: str) -> None:
    data = delimiter.join([b"a", b"b", b"c"]) + b"\n" + delimiter.join([b"1", b"2", b"3"]) + b"\n"
    batch = read_batch(data, "batch.txt")
    assert batch.table.column_names == ["a", "b", "c"]
    assert batch.delimiter == name
    assert ingest_metadata(batch.table)["delimiter"] == name


def test_semicolon_csv_with_decimal_commas_is_recorded() -> None:
    batch = read_batch(b"a;b\n1,5;x\n2,25;y\n", "eu.csv")
    assert batch.delimiter == ";" and batch.decimal_point == ","


def test_names_lose_bom_and_spaces_and_originals_are_kept() -> None:
    batch = read_batch(b"\xef\xbb\xbf id , amount \r\n1,2\r\n", "a.csv")
    assert batch.table.column_names == ["id", "amount"]
    assert ingest_metadata(batch.table)["original_columns"] == [" id ", " amount "]


def test_quoted_values_may_hold_delimiters_newlines_and_formulas() -> None:
    data = b'id,text\n1,"a, b\nc"\n2,"=HYPERLINK(""http://x"")"\n'
    table = read_table(data, "a.csv")
    assert table.column("text").to_pylist() == ["a, b\nc", '=HYPERLINK("http://x")']


def test_empty_cells_and_na_spellings_are_null() -> None:
    table = read_table(b"a,b\n,NA\nx,\n", "a.csv")
    assert table.column("a").to_pylist() == [None, "x"]
    assert table.column("b").to_pylist() == [None, None]


def test_trailing_delimiter_on_every_line_is_ignored() -> None:
    assert read_table(b"a,b,\n1,2,\n3,4,\n", "a.csv").column_names == ["a", "b"]


def test_old_mac_line_endings_are_lines() -> None:
    batch = read_batch(b"a;b\r1;2\r3;4\r", "a.csv")
    assert batch.delimiter == ";" and batch.table.column("b").to_pylist() == ["2", "4"]


def test_gzip_with_several_members_reads_as_one_stream() -> None:
    data = gzip.compress(b"a,b\n1,2\n", mtime=0) + gzip.compress(b"3,4\n", mtime=0)
    batch = read_batch(data, "a.csv.gz")
    assert batch.gzipped and batch.table.column("a").to_pylist() == ["1", "3"]


def test_jsonl_reads_typed_and_keys_may_come_and_go() -> None:
    table = read_table(b'{"a": 1, "b": "x"}\n\n{"a": 2.5}\n{"c": true}\n', "a.jsonl")
    assert table.column("a").to_pylist() == [1.0, 2.5, None]
    assert table.column("c").to_pylist() == [None, None, True]


def test_jsonl_key_with_mixed_types_becomes_text_for_the_contract_to_judge() -> None:
    table = read_table(b'{"a": 1}\n{"a": "n/a"}\n{"a": 2}\n', "a.jsonl")
    assert table.column("a").to_pylist() == ["1", "n/a", "2"]


def test_parquet_reads_and_keeps_types() -> None:
    source = pa.table({"id": ["a", "b"], "x": [1.5, None], "n": pa.array([1, 2], pa.int32())})
    table = read_table(parquet_bytes(source), "a.parquet")
    assert table.column_names == ["id", "x", "n"]
    assert table.column("x").to_pylist() == [1.5, None]
    assert table.schema.field("n").type == pa.int32()


def test_parquet_gzipped_outside_is_accepted() -> None:
    table = read_table(gzip.compress(parquet_bytes(pa.table({"x": [1, 2]}))), "a.parquet.gz")
    assert table.num_rows == 2


def test_json_strings_full_of_brackets_are_not_deep() -> None:
    data = b'{"a": "' + b"[{" * 100 + b'", "b": "]]]"}\n'
    assert read_table(data, "a.jsonl").column("a").to_pylist() == ["[{" * 100]


# --- rejections, one per code ----------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"", b"   \n\r\n", b"\xef\xbb\xbf", gzip.compress(b"", mtime=0)])
def test_empty_file(data: bytes) -> None:
    assert rejected(data).code == "empty_file"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"a,b\n", "a.csv"),
        (b"a,b\n\n\n", "a.csv"),
        (parquet_bytes(pa.table({"a": pa.array([], pa.int64())})), "a.parquet"),
    ],
)
def test_header_only_is_no_rows(data: bytes, filename: str) -> None:
    assert rejected(data, filename).code == "no_rows"


def test_objects_without_keys_are_no_columns() -> None:
    assert rejected(b"{}\n{}\n", "a.jsonl").code == "no_columns"


def test_header_and_rows_with_different_delimiters_is_bad_delimiter() -> None:
    err = rejected(b"a;b;c\n1,2,3\n4,5,6\n")
    assert err.code == "bad_delimiter"
    assert "semicolon" in err.message and "comma" in err.message


def test_latin1_bytes_are_not_utf8_with_line_number() -> None:
    err = rejected("id,city\n1,Berlin\n2,Düsseldorf\n".encode("latin-1"))
    assert err.code == "not_utf8"
    assert "line 3" in err.message and "Windows-1252" in err.message


def test_utf16_is_not_utf8() -> None:
    err = rejected("a,b\n1,2\n".encode("utf-16"))
    assert err.code == "not_utf8" and "UTF-16" in err.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a,b\n1,\x00\x00\n", "NUL"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (bytes(range(1, 32)) * 10, "control characters"),
        (gzip.compress(gzip.compress(b"a\n1\n", mtime=0), mtime=0), "compressed twice"),
    ],
)
def test_binary_content(data: bytes, expected: str) -> None:
    err = rejected(data)
    assert err.code == "binary_content" and expected in err.message


def test_row_with_extra_fields_is_parse_error_with_line_and_without_the_values() -> None:
    err = rejected(b"email,b\nx@example.com,2\nsecret@example.com,2,3\n")
    assert err.code == "parse_error"
    assert "line 3" in err.message and "expected 2" in err.message
    assert "secret" not in err.message


def test_invalid_json_line_is_parse_error_with_line() -> None:
    err = rejected(b'{"a": 1}\n{"a": \n', "a.jsonl")
    assert err.code == "parse_error" and "line 2" in err.message


def test_corrupt_parquet_is_parse_error() -> None:
    good = parquet_bytes(pa.table({"x": list(range(100))}))
    assert rejected(good[:4] + b"\x00" * 50 + good[-40:], "a.parquet").code == "parse_error"
    assert rejected(b"PAR1 this is not parquet", "a.parquet").code == "parse_error"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{\n  "a": 1\n}\n{\n  "a": "x"\n}\n', "pretty-printed"),
        (b'{"a": 1}\n[1, 2]\n', "line 2 is an array"),
        (b'{"a": 1}\n42\n', "line 2 is a number"),
        (b'[{"a": 1}, {"a": 2}]\n', "JSON array file"),
    ],
)
def test_lines_that_are_not_objects(data: bytes, expected: str) -> None:
    err = rejected(data, "a.jsonl")
    assert err.code == "not_json_object" and expected in err.message


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"a, a\n1,2\n", "a.csv"),
        (b'{"a": 1, "a": 2}\n', "a.jsonl"),
        (b'{"a": 1, " a": 2}\n', "a.jsonl"),
    ],
)
def test_duplicate_columns(data: bytes, filename: str) -> None:
    assert rejected(data, filename).code == "duplicate_columns"


def test_empty_column_name_hints_at_pandas_index() -> None:
    err = rejected(b",a,b\n0,1,2\n")
    assert err.code == "empty_column_name" and "index=False" in err.message
    assert rejected(b"a,,b\n1,2,3\n").code == "empty_column_name"


def test_corrupt_and_truncated_gzip_are_bad_gzip() -> None:
    whole = gzip.compress(b"a,b\n" + b"1,2\n" * 5000, mtime=0)
    assert rejected(whole[:-30], "a.csv.gz").code == "bad_gzip"
    corrupt = whole[:20] + bytes(b ^ 0xFF for b in whole[20:60]) + whole[60:]
    assert rejected(corrupt, "a.csv.gz").code == "bad_gzip"
    assert rejected(whole + b"trailing junk", "a.csv.gz").code == "bad_gzip"


def test_zero_padding_after_gzip_is_tolerated() -> None:
    assert read_table(gzip.compress(b"a\n1\n", mtime=0) + b"\x00" * 64, "a.csv.gz").num_rows == 1


# --- limits (LimitExceeded is a BatchRejected) -----------------------------------------------------
def limit_hit(data: bytes, filename: str, limits: IngestLimits) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as info:
        read_table(data, filename, limits)
    assert info.value.message.strip()
    return info.value


def test_object_too_large_before_anything_is_read() -> None:
    assert limit_hit(b"a\n1\n" * 100, "a.csv", IngestLimits(max_object_bytes=100)).code == "object_too_large"


def test_gzip_bomb_stops_early_at_the_ratio_limit() -> None:
    bomb = zlib.compressobj(wbits=31)
    data = bomb.compress(b"a\n") + bomb.compress(b"\x30\n" * (8 * MiB)) + bomb.flush()
    limits = IngestLimits(ratio_check_after_bytes=1 * MiB)
    err = limit_hit(data, "a.csv.gz", limits)
    assert err.code == "decompression_bomb"


def test_decompressed_size_limit() -> None:
    data = gzip.compress(b"a\n" + b"1\n" * MiB, mtime=0)
    err = limit_hit(data, "a.csv.gz", IngestLimits(max_decompressed_bytes=MiB, max_compression_ratio=1e9))
    assert err.code == "decompressed_too_large"


def test_parquet_limits_come_from_the_footer() -> None:
    data = parquet_bytes(pa.table({f"c{i}": [1, 2, 3] for i in range(5)}))
    assert limit_hit(data, "a.parquet", IngestLimits(max_columns=4)).code == "too_many_columns"
    assert limit_hit(data, "a.parquet", IngestLimits(max_rows=2)).code == "too_many_rows"
    assert (
        limit_hit(data, "a.parquet", IngestLimits(max_decompressed_bytes=10)).code == "decompressed_too_large"
    )
    zeros = parquet_bytes(pa.table({"z": [0] * 2_000_000}), compression="zstd", use_dictionary=False)
    limits = IngestLimits(ratio_check_after_bytes=MiB, max_compression_ratio=50)
    assert limit_hit(zeros, "a.parquet", limits).code == "decompression_bomb"


def test_parquet_nesting_limit() -> None:
    nested = pa.array([[[[1]]]], pa.list_(pa.list_(pa.list_(pa.int64()))))
    data = parquet_bytes(pa.table({"n": nested}))
    assert limit_hit(data, "a.parquet", IngestLimits(max_json_depth=2)).code == "nested_too_deep"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"a,b,c,d\n1,2,3,4\n", "a.csv"),
        (b'{"a":1,"b":2,"c":3,"d":4}\n', "a.jsonl"),
    ],
)
def test_too_many_columns(data: bytes, filename: str) -> None:
    assert limit_hit(data, filename, IngestLimits(max_columns=3)).code == "too_many_columns"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"a\n" + b"1\n" * 11, "a.csv"),
        (b'a\n"1"\n' + b"1\n" * 10, "a.csv"),  # quoted: counted after parsing
        (b'{"a": 1}\n' * 11, "a.jsonl"),
    ],
)
def test_too_many_rows(data: bytes, filename: str) -> None:
    assert limit_hit(data, filename, IngestLimits(max_rows=10)).code == "too_many_rows"


def test_rows_at_the_limit_pass() -> None:
    assert read_table(b"a\n" + b"1\n" * 10 + b"\n\n", "a.csv", IngestLimits(max_rows=10)).num_rows == 10


def test_line_too_long_names_the_line() -> None:
    data = b"a,b\n1,2\n3," + b"x" * 5000 + b"\n5,6\n"
    err = limit_hit(data, "a.csv", IngestLimits(max_line_bytes=1000))
    assert err.code == "line_too_long" and "line 3" in err.message


def test_lines_just_under_the_limit_pass() -> None:
    data = b"a,b\n" + (b"1," + b"x" * 990 + b"\n") * 20
    assert read_table(data, "a.csv", IngestLimits(max_line_bytes=1000)).num_rows == 20


def test_deep_json_is_refused_before_parsing() -> None:
    deep = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"  # would crash pyarrow's parser
    err = limit_hit(b'{"a": 1}\n' + deep, "a.jsonl", IngestLimits(max_line_bytes=MiB))
    assert err.code == "json_too_deep" and "line 2" in err.message


def test_json_at_the_depth_limit_passes() -> None:
    ok = b'{"a": ' + b"[" * 31 + b"1" + b"]" * 31 + b"}\n"
    assert read_table(ok, "a.jsonl").num_rows == 1


def test_metadata_records_how_the_batch_was_read() -> None:
    meta = ingest_metadata(read_table(gzip.compress(b"a;b\n1;2\n", mtime=0), "x.csv.gz"))
    assert meta["format"] == "csv" and meta["gzipped"] is True and meta["delimiter"] == ";"
    assert json.loads(json.dumps(meta)) == meta
