"""Fuzzing the ingest path with random and adversarial uploads.

For every input, read_table + conform (+ the PII scan) may only return a Table / ConformedBatch /
PiiReport or raise BatchRejected with a non-empty message and code: any other exception, a hang or a
crash fails. ``TRIED`` counts inputs per strategy; the counts are printed and written to
``fuzz_counts.json`` in pytest's temporary directory (docs/limits.md cites the run).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelsteward.domain.contract import ConformedBatch, conform
from modelsteward.domain.ingest import IngestLimits, read_table
from modelsteward.domain.pii import PiiReport, scan_table
from modelsteward.errors import BatchRejected
from modelsteward.spec import parse_spec

KiB, MiB = 2**10, 2**20
TRIED: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()  # rejected:<code>, conformed, conform_rejected:<code>
# Small limits keep every example cheap; the code paths are the same as with the defaults.
LIMITS = IngestLimits(
    max_object_bytes=2 * MiB,
    max_decompressed_bytes=4 * MiB,
    ratio_check_after_bytes=256 * KiB,
    max_rows=20_000,
    max_columns=64,
    max_line_bytes=32 * KiB,
    max_json_depth=32,
)
SPEC = parse_spec(
    {
        "name": "fuzz",
        "task": "binary",
        "target": "default",
        "features": {"numeric": ["age", "income"], "categorical": ["region"]},
        "classes": ["0", "1"],
        "probability_column": "proba",
    }
)
ROLES = st.sampled_from(["inference", "reference", "training", "labels", "scoring"])
FILENAMES = st.sampled_from(
    ["b.csv", "b.tsv", "b.jsonl", "b.json", "b.parquet", "b.csv.gz", "b.jsonl.gz", "upload", "b.txt"]
)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = st.sampled_from(
    [
        "id",
        "age",
        "income",
        "region",
        "prediction",
        "proba",
        "timestamp",
        "default",
        "label",
        " age ",
        "\ufeffid",
        "",
        "<script>alert(1)</script>",
        '=HYPERLINK("http://evil.example","click")',
        "\uff41\uff47\uff45",  # fullwidth "age"
        "\u0430ge",  # Cyrillic a
        "\u202eeman",  # right-to-left override
        "a,b",
        'q"uote',
        "x" * 300,
        "NaN",
    ]
)
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "NA",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "1e400",
            "-0",
            "true",
            "=1+1",
            '=HYPERLINK("http://x","y")',
            "@SUM(A1)",
            "<img src=x onerror=alert(1)>",
            "+1 415 555 2671",
            "4111 1111 1111 1111",
            "john.doe@example.com",
            "2024-01-01T00:00:00Z",
            "2024-13-45",
            "1700000000",
            "\x1b[31m",
            "\ufeff",
            "\uff11\uff12",
            "\u0663",
            '"',
            "\r",
            "\n",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
)
HUGE_CELLS = st.text(alphabet='ab,;\t|"\n', min_size=2_000, max_size=40_000)  # long, quote-heavy
SPEC_COLUMNS = ["id", "timestamp", "age", "income", "region", "prediction", "proba", "default"]
CLEAN_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr), st.integers(-(10**9), 10**9).map(str)
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["", "1.5", "0", "true", "abc", "inf"]),
)


def exercise(data: bytes, filename: str, role: str, strategy: str) -> None:
    TRIED[strategy] += 1
    try:
        table = read_table(data, filename, LIMITS)
    except BatchRejected as exc:
        assert exc.message.strip() and exc.code
        OUTCOMES[f"rejected:{exc.code}"] += 1
        return
    assert isinstance(table, pa.Table)
    assert isinstance(scan_table(table, sample_rows=2_000), PiiReport)
    try:
        batch = conform(table, SPEC, role=role)  # type: ignore[arg-type]
    except BatchRejected as exc:
        assert exc.message.strip() and exc.code
        OUTCOMES[f"conform_rejected:{exc.code}"] += 1
        return
    assert isinstance(batch, ConformedBatch)
    OUTCOMES["conformed"] += 1
    assert all(f.message for f in batch.findings)


def transform(data: bytes, how: str, cut: float) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=1)
    if how == "truncated_gzip":
        packed = gzip.compress(data, compresslevel=1)
        return packed[: max(2, int(len(packed) * cut))]
    if how == "truncated":
        return data[: int(len(data) * cut)]
    if how == "latin1":
        return data.decode("utf-8", "replace").encode("latin-1", "replace")
    return data


TRANSFORMS = st.sampled_from(["none", "none", "gzip", "truncated_gzip", "truncated", "latin1"])
CUTS = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def csv_documents(draw: st.DrawFn) -> bytes:
    """Half well-formed (spec columns, consistent rows, mostly numbers), half anything goes."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    well_formed = draw(st.booleans())
    if well_formed:
        header = draw(st.permutations(SPEC_COLUMNS))
        header = header + draw(st.lists(NAMES, max_size=2, unique=True).map(lambda x: [n for n in x if n]))
        header = list(dict.fromkeys(header))
        cell = CLEAN_NUMBERS if draw(st.booleans()) else st.one_of(NUMBERS, NUMBERS, CELLS)
        rows = draw(
            st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), min_size=1, max_size=30)
        )
    else:
        header = draw(st.lists(NAMES, min_size=1, max_size=8))
        rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=10), max_size=30))
    if rows and rows[0] and draw(st.integers(0, 9)) == 0:
        rows[0][0] = draw(HUGE_CELLS)
    quote = well_formed or draw(st.booleans())

    def fmt(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"' if quote else cell

    lines = [delimiter.join(fmt(c) for c in header)] + [delimiter.join(fmt(c) for c in r) for r in rows]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join(lines).encode("utf-8", "surrogatepass")


BOUNDARY_INTS = st.sampled_from([2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 10**19, -(2**53) - 1])
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    BOUNDARY_INTS,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    CELLS,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=20,
)


TYPED_VALUES = {
    "int": st.one_of(st.integers(-(2**63), 2**63 - 1), BOUNDARY_INTS),
    "float": st.floats(allow_nan=True, allow_infinity=True),
    "bool": st.booleans(),
    "text": CELLS,
    "mixed": st.one_of(JSON_SCALARS, NUMBERS),
}


@st.composite
def jsonl_documents(draw: st.DrawFn) -> bytes:
    """Half clean (objects only), half with non-objects, deep nesting and garbage lines mixed in."""
    lines = []
    clean = draw(st.booleans())
    kinds = ["object"] if clean else ["object", "object", "object", "value", "deep", "garbage"]
    column_types = {c: draw(st.sampled_from(list(TYPED_VALUES))) for c in SPEC_COLUMNS}
    for _ in range(draw(st.integers(min_value=0, max_value=20))):
        if clean and column_types["age"] != "mixed":  # one JSON type per key, like real exports
            obj = {c: draw(st.one_of(st.none(), TYPED_VALUES[t])) for c, t in column_types.items()}
            lines.append(json.dumps(obj, allow_nan=True))
            continue
        kind = draw(st.sampled_from(kinds))
        if kind == "object" and draw(st.booleans()):
            obj = {c: draw(st.one_of(JSON_SCALARS, NUMBERS)) for c in SPEC_COLUMNS}
            lines.append(json.dumps(obj, allow_nan=True))
        elif kind == "object":
            obj = draw(st.dictionaries(NAMES, JSON_VALUES, max_size=8))
            lines.append(json.dumps(obj, allow_nan=True))
        elif kind == "value":
            lines.append(json.dumps(draw(JSON_VALUES), allow_nan=True))
        elif kind == "deep":
            depth = draw(st.integers(min_value=20, max_value=5_000))
            opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
            lines.append('{"age": ' + opener * depth + "1" + closer * depth + "}")
        else:
            lines.append(draw(st.text(alphabet='{}[]":,0123456789abc \\', max_size=60)))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def _parquet_seed() -> bytes:
    table = pa.table(
        {
            "id": pa.array([str(i) for i in range(50)]),
            "age": pa.array([float(i) if i % 7 else None for i in range(50)]),
            "income": pa.array(list(range(50)), pa.int32()),
            "region": pa.array(["north", "south"] * 25).dictionary_encode(),
            "prediction": pa.array([i % 2 == 0 for i in range(50)]),
            "nested": pa.array([[{"k": i}] for i in range(50)]),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=20)
    return sink.getvalue()


PARQUET_SEED = _parquet_seed()


ARROW_TYPES: list[tuple[pa.DataType, st.SearchStrategy]] = [
    (
        pa.int64(),
        st.one_of(st.integers(-(2**63), 2**63 - 1), BOUNDARY_INTS.filter(lambda v: -(2**63) <= v < 2**63)),
    ),
    (pa.uint64(), st.integers(0, 2**64 - 1)),
    (pa.int8(), st.integers(-128, 127)),
    (pa.float16(), st.none()),
    (pa.float32(), st.floats(width=32, allow_nan=True, allow_infinity=True)),
    (pa.float64(), st.floats(allow_nan=True, allow_infinity=True)),
    (pa.decimal128(38, 10), st.decimals(min_value=-(10**27), max_value=10**27, places=10, allow_nan=False)),
    (pa.bool_(), st.booleans()),
    (pa.string(), CELLS),
    (pa.large_string(), CELLS),
    (pa.binary(), st.binary(max_size=20)),
    (pa.date32(), st.dates()),
    (pa.timestamp("s"), st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))),
    (
        pa.timestamp("ns", tz="Asia/Kolkata"),
        st.datetimes(min_value=dt.datetime(1678, 1, 1), max_value=dt.datetime(2261, 12, 31)),
    ),
    (
        pa.duration("ms"),
        st.timedeltas(min_value=dt.timedelta(days=-(10**5)), max_value=dt.timedelta(days=10**5)),
    ),
    (pa.time64("us"), st.times()),
    (pa.list_(pa.int64()), st.lists(st.integers(-5, 5), max_size=3)),
    (pa.struct([("k", pa.string())]), st.fixed_dictionaries({"k": st.text(max_size=5)})),
    (pa.null(), st.none()),
]


@st.composite
def typed_parquet(draw: st.DrawFn) -> bytes:
    """Parquet files whose spec columns carry any Arrow type, including extremes of each type."""
    rows = draw(st.integers(min_value=1, max_value=12))
    columns = {}
    for name in draw(st.lists(st.sampled_from(SPEC_COLUMNS), min_size=1, max_size=8, unique=True)):
        typ, values = draw(st.sampled_from(ARROW_TYPES))
        data = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        array = pa.array(data, typ)
        if draw(st.booleans()) and (pa.types.is_string(typ) or pa.types.is_integer(typ)):
            array = array.dictionary_encode()
        columns[name] = array
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


@pytest.fixture(scope="module", autouse=True)
def record_counts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    path = tmp_path_factory.mktemp("fuzz") / "fuzz_counts.json"
    summary = {"total": sum(TRIED.values()), "tried": dict(TRIED), "outcomes": dict(sorted(OUTCOMES.items()))}
    path.write_text(json.dumps(summary, indent=2))
    print(f"\ningest fuzz: {json.dumps(summary)} -> {path}")


# --- the properties ---------------------------------------------------------------------------------
@SETTINGS
@given(data=st.binary(max_size=4_096), filename=FILENAMES, role=ROLES)
def _random_bytes(data: bytes, filename: str, role: str) -> None:
    exercise(data, filename, role, "random_bytes")


@SETTINGS
@given(doc=csv_documents(), how=TRANSFORMS, cut=CUTS, filename=FILENAMES, role=ROLES)
def _csv(doc: bytes, how: str, cut: float, filename: str, role: str) -> None:
    exercise(transform(doc, how, cut), filename, role, "csv")


@settings(SETTINGS, max_examples=60)
@given(doc=jsonl_documents(), how=TRANSFORMS, cut=CUTS, filename=FILENAMES, role=ROLES)
def _jsonl(doc: bytes, how: str, cut: float, filename: str, role: str) -> None:
    exercise(transform(doc, how, cut), filename, role, "jsonl")


@settings(SETTINGS, max_examples=20)
@given(
    size=st.integers(min_value=300 * KiB, max_value=6 * MiB),
    fill=st.sampled_from([b"\x00", b"0", b"0,0\n", b"a"]),
    layers=st.integers(min_value=1, max_value=2),
    role=ROLES,
)
def _gzip_bombs(size: int, fill: bytes, layers: int, role: str) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = fill * (64 * KiB // len(fill))
    data = packer.compress(b"age\n") + b"".join(packer.compress(chunk) for _ in range(size // len(chunk)))
    data += packer.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data)
    exercise(data, "bomb.csv.gz", role, "gzip_bombs")


@settings(SETTINGS, max_examples=40)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(PARQUET_SEED) - 1), st.integers(0, 255)), max_size=8
    ),
    cut=st.integers(min_value=8, max_value=len(PARQUET_SEED)),
    role=ROLES,
)
def _parquet_mutations(edits: list[tuple[int, int]], cut: int, role: str) -> None:
    data = bytearray(PARQUET_SEED[:cut])
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    exercise(bytes(data), "b.parquet", role, "parquet")


@settings(SETTINGS, max_examples=60)
@given(data=typed_parquet(), role=ROLES)
def _typed_parquet(data: bytes, role: str) -> None:
    exercise(data, "b.parquet", role, "typed_parquet")


@pytest.mark.parametrize(
    ("prop", "strategy", "minimum"),
    [
        (_random_bytes, "random_bytes", 50),
        (_csv, "csv", 50),
        (_jsonl, "jsonl", 30),
        (_gzip_bombs, "gzip_bombs", 10),
        (_parquet_mutations, "parquet", 20),
        (_typed_parquet, "typed_parquet", 30),
    ],
)
def test_only_tables_or_batch_rejected(prop: object, strategy: str, minimum: int) -> None:
    before = TRIED[strategy]
    prop()  # type: ignore[operator]
    assert TRIED[strategy] - before >= minimum


def test_known_nasty_inputs() -> None:
    nasty = [
        (b"", "b.csv"),
        (b"\x1f\x8b", "b.csv.gz"),
        (b"PAR1", "b.parquet"),
        (b"PAR1PAR1", "b.parquet"),
        (b'{"a":' * 100_000, "b.jsonl"),
        (b"[" * 100_000, "b.jsonl"),
        (b'"' * 10_000, "b.csv"),
        (b'a\n"' + b"x" * 100_000, "b.csv"),
        (b"a,b\n" + b"1,2\n" * 30_000, "b.csv"),
        (b"\xef\xbb\xbf\xef\xbb\xbfa\n1\n", "b.csv"),
        (b"age\n" + "\u00a0".encode() * 10 + b"\n", "b.csv"),
        (gzip.compress(b"\x00" * MiB) * 3, "b.csv.gz"),
    ]
    for data, filename in nasty:
        exercise(data, filename, "reference", "known")
