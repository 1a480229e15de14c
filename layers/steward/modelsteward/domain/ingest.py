"""Read an uploaded batch (CSV, JSON Lines or Parquet, optionally gzip) into a pyarrow Table, safely.

Uploads are untrusted: every limit in :class:`IngestLimits` is checked before the memory it guards is
committed (gzip is stream-decompressed in chunks and stopped; Parquet limits come from its footer; JSON
nesting is measured before any JSON parser recurses). Anything the suite cannot read raises
:class:`~modelsteward.errors.BatchRejected` (or :class:`~modelsteward.errors.LimitExceeded`) with a
stable ``code`` and a sentence a person can act on; messages never quote cell values.

pandas is deliberately absent: importing it costs ~2 s of cold start (notes/performance-facts.md).
docs/limits.md documents the limits and every rejection code.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import BatchRejected, LimitExceeded
from .capture import CAPTURE_METADATA_KEY, looks_like_sagemaker
from .capture import decode as decode_sagemaker

BatchFormat = Literal["csv", "jsonl", "parquet"]

MiB = 2**20
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
#: Schema metadata key under which :func:`read_table` records how the batch was read (JSON).
INGEST_METADATA_KEY = b"modelsteward.ingest"
#: Delimiters tried by CSV auto-detection, in order of preference on ties.
CSV_DELIMITERS = (",", ";", "\t", "|")
#: JSON Lines whose types change within a key are re-read in Python (mixed keys become text) up to
#: this size; larger files get the same per-line diagnostics but must keep one JSON type per key.
JSON_FALLBACK_MAX_BYTES = 64 * MiB

_SNIFF_BYTES = 64 * 1024
_GZIP_IN_CHUNK = 64 * 1024
_GZIP_OUT_CHUNK = 1 * MiB
_UTF8_CHUNK = 4 * MiB
_TEXT_CONTROL = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _TEXT_CONTROL)
_NOT_BRACKET_OR_NEWLINE = bytes(b for b in range(256) if b not in b"[]{}\n")
_NON_SPACE = re.compile(rb"\S")
_JSON_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office document (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (GZIP_MAGIC, "gzip data compressed twice"),
    (b"BZh", "bzip2 data (only gzip is supported)"),
    (b"\xfd7zXZ\x00", "xz data (only gzip is supported)"),
    (b"\x28\xb5\x2f\xfd", "zstd data (only gzip is supported)"),
    (b"ARROW1", "an Arrow IPC file (use Parquet)"),
)
_DELIMITER_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}


#: Memory assumed when AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set (`steward check`, tests).
DEFAULT_MEMORY_MB = 4096
#: Share of the function's memory that decompressed bytes may take: parsing the text into Arrow and
#: conforming it need about three times as much again.
DECOMPRESSED_MEMORY_SHARE = 0.25
#: Decompressed size never allowed, whatever the memory.
MAX_DECOMPRESSED_BYTES = 2 * 2**30


def function_memory_mb() -> int:
    """The function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE), else DEFAULT_MEMORY_MB."""
    raw = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MEMORY_MB
    return value if value > 0 else DEFAULT_MEMORY_MB


def decompression_budget(memory_mb: int | None = None) -> int:
    """Bytes a decompressed upload may take: a share of the function's memory, at most 2 GiB."""
    mb = function_memory_mb() if memory_mb is None else memory_mb
    return min(MAX_DECOMPRESSED_BYTES, int(mb * MiB * DECOMPRESSED_MEMORY_SHARE))


@dataclass(frozen=True)
class IngestLimits:
    """Explicit upload limits (docs/limits.md); each is enforced before the memory it guards is committed.

    ``max_decompressed_bytes`` defaults to :func:`decompression_budget` (from the function's memory),
    so a file is refused before decompressing it could get the function killed, whatever its ratio.
    """

    max_object_bytes: int = 512 * MiB
    max_decompressed_bytes: int = field(default_factory=decompression_budget)
    max_compression_ratio: float = 200.0
    max_rows: int = 20_000_000
    max_columns: int = 2_000
    max_line_bytes: int = 1 * MiB
    max_json_depth: int = 32
    #: The running compression ratio is judged only once this much output exists: small files that
    #: compress extremely well (a constant column) cannot exhaust memory and are not bombs.
    ratio_check_after_bytes: int = 16 * MiB


@dataclass(frozen=True)
class IngestedBatch:
    """A parsed batch plus how it was read (for the batch report and quarantine reasons)."""

    table: pa.Table
    format: BatchFormat
    gzipped: bool
    delimiter: str | None
    decimal_point: str | None
    original_columns: tuple[str, ...]
    decompressed_bytes: int

    def metadata(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "gzipped": self.gzipped,
            "delimiter": self.delimiter,
            "decimal_point": self.decimal_point,
            "original_columns": list(self.original_columns),
            "decompressed_bytes": self.decompressed_bytes,
            "rows": self.table.num_rows,
        }


def _reject(code: str, message: str) -> BatchRejected:
    return BatchRejected(message, code=code)


def _limit(code: str, message: str) -> LimitExceeded:
    return LimitExceeded(message, code=code)


def _mib(n: float) -> str:
    return f"{n / MiB:.1f} MiB"


# --- format detection ----------------------------------------------------------------------
def _gunzip_head(data: bytes | bytearray, size: int) -> bytes:
    """The first ``size`` decompressed bytes (for sniffing); never inflates more than that."""
    dec = zlib.decompressobj(wbits=31)
    try:
        return dec.decompress(bytes(data[: 4 * _GZIP_IN_CHUNK]), size)
    except zlib.error as exc:
        raise _reject(
            "bad_gzip", f"file starts like gzip but is not valid gzip ({exc}); re-compress it"
        ) from exc


def _extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".gzip"):
        name = name.removesuffix(suffix)
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _looks_like_json(head: bytes | bytearray) -> bool:
    return bytes(head).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _format_of(filename: str, head: bytes | bytearray) -> BatchFormat:
    if bytes(head[:4]) == PARQUET_MAGIC:
        return "parquet"
    ext = _extension(filename)
    if ext in ("csv", "tsv", "txt", "psv"):
        return "csv"
    if ext in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if ext in ("parquet", "pq") and not _looks_textual(head):
        return "parquet"
    return "jsonl" if _looks_like_json(head) else "csv"


def _looks_textual(head: bytes | bytearray) -> bool:
    sample = bytes(head[:4096])
    return b"\x00" not in sample and len(sample.translate(None, _NOT_CONTROL)) <= len(sample) // 100


def detect_format(filename: str, data: bytes | bytearray) -> tuple[BatchFormat, bool]:
    """(format, gzipped): gzip and Parquet by magic bytes first, then the file extension, then content."""
    gzipped = bytes(data[:2]) == GZIP_MAGIC
    head = _gunzip_head(data, _SNIFF_BYTES) if gzipped else bytes(data[:_SNIFF_BYTES])
    return _format_of(filename, head), gzipped


# --- gzip ----------------------------------------------------------------------------------
def _too_large_decompressed(limits: IngestLimits) -> LimitExceeded:
    return _limit(
        "decompressed_too_large",
        f"file decompresses to more than {_mib(limits.max_decompressed_bytes)} "
        "(IngestLimits.max_decompressed_bytes, a share of the function's memory): split it into "
        "smaller batches",
    )


def _gunzip(data: bytes | bytearray, limits: IngestLimits) -> bytearray:
    """Stream-decompress (all members) in bounded chunks, stopping at the size and ratio limits.

    Each 1 MiB piece is counted before it is kept, so the output never grows past the budget
    (a share of the function's memory), whatever the compression ratio."""
    out = bytearray()
    view = memoryview(data)
    fed = 0
    dec = zlib.decompressobj(wbits=31)
    while True:
        if dec.eof:
            fed -= len(dec.unused_data)
            rest = view[fed:]
            if bytes(rest[:2]) != GZIP_MAGIC:
                if not bytes(rest).strip(b"\x00"):
                    break  # the end, possibly with zero padding (some writers add it)
                raise _reject("bad_gzip", f"unexpected bytes after the end of the gzip stream at byte {fed}")
            dec = zlib.decompressobj(wbits=31)
        if dec.unconsumed_tail:
            chunk: bytes | memoryview = dec.unconsumed_tail
        elif fed < len(view):
            chunk = view[fed : fed + _GZIP_IN_CHUNK]
            fed += len(chunk)
        else:
            chunk = b""
        try:
            piece = dec.decompress(chunk, _GZIP_OUT_CHUNK)
        except zlib.error as exc:
            raise _reject("bad_gzip", f"gzip data is corrupt ({exc}); re-compress the file") from exc
        if not piece and not chunk and not dec.eof:
            raise _reject(
                "bad_gzip", "gzip data is truncated (the upload may be incomplete); upload it again"
            )
        total = len(out) + len(piece)
        if total > limits.max_decompressed_bytes:
            raise _too_large_decompressed(limits)
        out += piece
        consumed = max(fed - len(dec.unconsumed_tail), 1)
        if total > limits.ratio_check_after_bytes and total / consumed > limits.max_compression_ratio:
            raise _limit(
                "decompression_bomb",
                f"file expands more than {limits.max_compression_ratio:g}x when decompressed "
                f"({_mib(total)} from {consumed} bytes and counting): refused as a decompression bomb",
            )
    return out


# --- text checks (CSV and JSON Lines) ------------------------------------------------------
def _line_of(payload: bytes | bytearray, offset: int) -> int:
    return payload.count(b"\n", 0, offset) + 1


def _check_binary(payload: bytes | bytearray, fmt: str) -> None:
    head = bytes(payload[:16])
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _reject("not_utf8", "file is UTF-16 encoded; save it as UTF-8")
    for magic, what in _BINARY_SIGNATURES:
        if head.startswith(magic):
            raise _reject(
                "binary_content", f"file is {what}, not {fmt}: export the data as CSV, JSON Lines or Parquet"
            )
    nul = payload.find(b"\x00")
    if nul >= 0:
        raise _reject(
            "binary_content",
            f"file contains NUL bytes (first at line {_line_of(payload, nul)}): it is binary, not {fmt}; "
            "export the data as CSV, JSON Lines or Parquet",
        )
    sample = bytes(payload[:_SNIFF_BYTES])
    controls = len(sample.translate(None, _NOT_CONTROL))
    if controls * 100 > len(sample):
        raise _reject(
            "binary_content",
            f"{controls} of the first {len(sample)} bytes are control characters: the file is binary, "
            f"not {fmt}",
        )


def _check_utf8(payload: bytes | bytearray) -> None:
    if payload.isascii():
        return
    n = len(payload)
    start = 0
    while start < n:
        end = min(start + _UTF8_CHUNK, n)
        while end < n and end > start and payload[end] & 0xC0 == 0x80:
            end -= 1  # never split a multi-byte character between chunks
        try:
            bytes(payload[start:end]).decode("utf-8")
        except UnicodeDecodeError as exc:
            pos = start + exc.start
            hint = ""
            try:
                bytes(payload[max(0, pos - 64) : pos + 64]).decode("cp1252")
                hint = " (it looks like Windows-1252/Latin-1)"
            except UnicodeDecodeError:
                pass
            raise _reject(
                "not_utf8",
                f"byte 0x{payload[pos]:02X} at line {_line_of(payload, pos)} (byte offset {pos}) is not "
                f"valid UTF-8{hint}: re-save the file as UTF-8",
            ) from None
        start = end


def _check_line_length(payload: bytes | bytearray, limit: int) -> None:
    """Reject any physical line longer than ``limit`` bytes without scanning line by line.

    A line longer than ``limit`` must contain a whole aligned block of ``limit // 2`` bytes, so only
    blocks without a line break need a closer look (a few hundred ``find`` calls for 200 MB).
    """
    n = len(payload)
    if n <= limit:
        return
    half = max(limit // 2, 1)
    for start in range(0, n - half + 1, half):
        end = start + half
        if payload.find(b"\n", start, end) >= 0 or payload.find(b"\r", start, end) >= 0:
            continue
        line_start = max(payload.rfind(b"\n", 0, start), payload.rfind(b"\r", 0, start)) + 1
        ends = [p for p in (payload.find(b"\n", end), payload.find(b"\r", end)) if p >= 0]
        line_end = min(ends) if ends else n
        if line_end - line_start > limit:
            raise _limit(
                "line_too_long",
                f"line {_line_of(payload, line_start)} is longer than {_mib(limit)} "
                "(IngestLimits.max_line_bytes): check the quoting or split the field",
            )


def _check_text(payload: bytes | bytearray, fmt: str, limits: IngestLimits) -> None:
    _check_binary(payload, fmt)
    _check_utf8(payload)
    _check_line_length(payload, limits.max_line_bytes)


def _count_data_lines(payload: bytes | bytearray, limit: int) -> int:
    """Non-blank physical lines, counted exactly only when a quick count exceeds ``limit`` (the quick
    count is an upper bound; values with newlines make both an upper bound of the row count)."""
    quick = payload.count(b"\n") + 1
    if quick <= limit:
        return quick
    arr = np.frombuffer(payload, dtype=np.uint8)
    breaks = np.flatnonzero(arr == ord("\n"))
    starts = np.concatenate(([0], breaks + 1))
    lengths = np.concatenate((breaks, [arr.size])) - starts
    first = arr[np.minimum(starts, max(arr.size - 1, 0))] if arr.size else np.zeros(0, np.uint8)
    blank = (lengths == 0) | ((lengths == 1) & (first == ord("\r")))
    return int((~blank).sum())


def _too_many_rows(limits: IngestLimits) -> LimitExceeded:
    return _limit(
        "too_many_rows",
        f"file has more than {limits.max_rows:,} rows (IngestLimits.max_rows): split it into smaller batches",
    )


def too_many_columns(count: int, limits: IngestLimits) -> LimitExceeded:
    return _limit(
        "too_many_columns",
        f"file has {count:,} columns; the limit is {limits.max_columns:,} (IngestLimits.max_columns)",
    )


def _safe_arrow_message(exc: BaseException) -> str:
    """pyarrow's message without the cell values it sometimes quotes (they may be personal data)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"(got \d+)\s*:.*", r"\1", text)
    text = re.sub(r"(invalid value|as a scalar of type [^:]*):.*", r"\1", text)
    return text[:200].encode("ascii", "backslashreplace").decode("ascii")


# --- CSV -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CsvDialect:
    delimiter: str
    header: list[str]
    decimal_point: str


def _csv_rows(text: str, delimiter: str, truncated: bool) -> list[list[str]] | None:
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except csv.Error:
        return None
    if truncated and len(rows) > 1:
        rows.pop()  # the sample may end inside a record
    return rows


def _sniff_csv(payload: bytes | bytearray, limits: IngestLimits) -> _CsvDialect:
    """Pick the delimiter that splits the header and the first rows into the same number of fields."""
    header_end = max(payload.find(b"\n", 0, limits.max_line_bytes + 1), 0)
    sample = bytes(payload[: header_end + _SNIFF_BYTES])
    truncated = len(sample) < len(payload)
    if truncated:  # end on a line break ('\r' alone ends lines too)
        sample = sample[: max(sample.rfind(b"\n"), sample.rfind(b"\r")) + 1] or sample
    text = sample.decode("utf-8", errors="replace")
    parsed = {d: _csv_rows(text, d, truncated) for d in CSV_DELIMITERS}
    usable = {d: rows for d, rows in parsed.items() if rows}
    if not usable:
        return _CsvDialect(",", [], ".")

    def consistent(rows: list[list[str]]) -> bool:
        return all(len(r) == len(rows[0]) for r in rows[1:])

    splitting = [d for d, rows in usable.items() if len(rows[0]) > 1]
    good = [d for d in splitting if consistent(usable[d])]
    if good:
        delimiter = max(good, key=lambda d: (len(usable[d][0]), -CSV_DELIMITERS.index(d)))
    else:
        body_only = [
            d
            for d, rows in usable.items()
            if d not in splitting and len(rows) >= 2 and len(rows[1]) > 1 and consistent(rows[1:])
        ]
        if body_only:
            rows_d = body_only[0]
            header_d = splitting[0] if splitting else None
            header_what = (
                f"the header splits on {_DELIMITER_NAMES[header_d]}"
                if header_d
                else "the header has a single column"
            )
            raise _reject(
                "bad_delimiter",
                f"{header_what} but the data rows split on {_DELIMITER_NAMES[rows_d]} "
                f"into {len(usable[rows_d][1])} fields: use one delimiter throughout",
            )
        delimiter = (
            "," if "," in splitting or not splitting else max(splitting, key=lambda d: len(usable[d][0]))
        )
    rows = usable.get(delimiter) or [[]]
    header = rows[0]
    if len(header) > limits.max_columns:
        raise too_many_columns(len(header), limits)
    decimal_point = "."
    if delimiter == ";":
        cells = [c.strip() for r in rows[1:] for c in r]
        if any(re.fullmatch(r"[+-]?\d+,\d+", c) for c in cells) and not any(
            re.fullmatch(r"[+-]?\d+\.\d+", c) for c in cells
        ):
            decimal_point = ","
    return _CsvDialect(delimiter, header, decimal_point)


def _read_csv(payload: bytes | bytearray, limits: IngestLimits) -> tuple[pa.Table, _CsvDialect]:
    _check_text(payload, "CSV", limits)
    dialect = _sniff_csv(payload, limits)
    if b'"' not in payload and _count_data_lines(payload, limits.max_rows + 1) - 1 > limits.max_rows:
        raise _too_many_rows(limits)
    bad_rows: list[Any] = []

    def on_invalid_row(row: Any) -> str:
        if not bad_rows:
            bad_rows.append(row)
        return "error"

    # Every column is read as text: conform() parses numbers per the model spec, so ids and codes
    # such as "007" keep their leading zeros and no column's type depends on its first block.
    column_types = {name: pa.string() for name in dialect.header}
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(payload)),
            read_options=pa_csv.ReadOptions(block_size=max(4 * MiB, 2 * limits.max_line_bytes + 2)),
            parse_options=pa_csv.ParseOptions(
                delimiter=dialect.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=column_types,
                strings_can_be_null=True,
                decimal_point=dialect.decimal_point,
            ),
        )
    except Exception as exc:
        raise _csv_error(payload, exc, bad_rows, limits) from None
    return table, dialect


def _find_line(payload: bytes | bytearray, text: bytes) -> int | None:
    """Line number of the first physical line equal to ``text`` (pyarrow reports rows without numbers)."""
    if not text:
        return None
    pos = -1
    for _ in range(1000):
        pos = payload.find(text, pos + 1)
        if pos < 0:
            return None
        starts_line = pos == 0 or payload[pos - 1] in b"\r\n"
        after = pos + len(text)
        ends_line = after == len(payload) or payload[after] in b"\r\n"
        if starts_line and ends_line:
            return _line_of(payload, pos)
    return None


def _csv_error(
    payload: bytes | bytearray, exc: Exception, bad_rows: list[Any], limits: IngestLimits
) -> Exception:
    if isinstance(exc, MemoryError):
        return _limit("too_large", "file does not fit in memory: split it into smaller batches")
    if bad_rows:
        row = bad_rows[0]
        where = ""
        line = _find_line(payload, (getattr(row, "text", "") or "").encode("utf-8", "replace"))
        if line:
            where = f"line {line}: "
        elif getattr(row, "number", None):
            where = f"row {row.number}: "
        return _reject(
            "parse_error",
            f"{where}expected {row.expected_columns} fields like the header, found {row.actual_columns}: "
            "check the delimiter and the quoting of values that contain it",
        )
    message = _safe_arrow_message(exc)
    if "straddl" in message:
        return _reject(
            "parse_error",
            f"a quoted value never ends or a record exceeds {_mib(limits.max_line_bytes)}: check the quoting",
        )
    return _reject("parse_error", f"CSV could not be parsed: {message}")


# --- JSON Lines ----------------------------------------------------------------------------
def _check_json_depth(payload: bytes | bytearray, limit: int) -> None:
    """Measure nesting before any JSON parser recurses (deep input crashes pyarrow's parser).

    Cheap bound first: a line's depth never exceeds its count of '[' and '{'. Only when some line has
    more openers than the limit are JSON strings blanked out (regex, C speed) for an exact measure.
    """
    brackets = payload.translate(None, _NOT_BRACKET_OR_NEWLINE)
    arr = np.frombuffer(brackets, dtype=np.uint8)
    openers = np.cumsum((arr == ord("[")) | (arr == ord("{")), dtype=np.int64)
    breaks = np.flatnonzero(arr == ord("\n"))
    per_line = np.diff(np.concatenate(([0], openers[breaks] if breaks.size else [], openers[-1:])))
    if per_line.size == 0 or int(per_line.max()) <= limit:
        return
    exact = _JSON_STRING.sub(b'""', bytes(payload)).translate(None, _NOT_BRACKET_OR_NEWLINE)
    arr = np.frombuffer(exact, dtype=np.uint8)
    delta = np.zeros(arr.size, dtype=np.int64)
    delta[(arr == ord("[")) | (arr == ord("{"))] = 1
    delta[(arr == ord("]")) | (arr == ord("}"))] = -1
    level = np.cumsum(delta)
    is_break = arr == ord("\n")
    line_index = np.cumsum(is_break) - is_break  # the newline belongs to the line it ends
    line_base = np.concatenate(([0], level[is_break]))
    depth = level - line_base[line_index]
    if depth.size and int(depth.max()) > limit:
        line = int(line_index[int(np.argmax(depth))]) + 1
        raise _limit(
            "json_too_deep",
            f"line {line} nests objects/arrays more than {limit} levels deep (IngestLimits.max_json_depth): "
            "flatten the record",
        )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeyError
    return obj


class _DuplicateKeyError(ValueError):
    pass


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _read_jsonl_python(payload: bytes | bytearray, limits: IngestLimits, *, build: bool) -> pa.Table | None:
    """Slow, exact path: per-line diagnostics, and (if ``build``) keys whose JSON type changes become text."""
    columns: dict[str, list[Any]] = {}
    rows = 0
    for lineno, raw in enumerate(bytes(payload).split(b"\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except _DuplicateKeyError:
            raise _reject(
                "duplicate_columns", f"line {lineno}: the object has the same key twice; keys must be unique"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            if rows == 0 and line in (b"[", b"{"):
                raise _reject(
                    "not_json_object",
                    f"line {lineno} is a lone '{line.decode()}': this looks like a pretty-printed JSON "
                    "document; JSON Lines needs each object on one line",
                ) from None
            where = f", column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid JSON"
            raise _reject("parse_error", f"line {lineno}{where}: {reason}") from None
        if not isinstance(obj, dict):
            hint = " (a JSON array file? use one object per line)" if isinstance(obj, list) else ""
            raise _reject(
                "not_json_object",
                f"line {lineno} is {_json_kind(obj)}, not a JSON object: JSON Lines needs one object "
                f"per line{hint}",
            )
        rows += 1
        if rows > limits.max_rows:
            raise _too_many_rows(limits)
        if not build:
            continue
        for key in obj:
            if key not in columns:
                if len(columns) >= limits.max_columns:
                    raise too_many_columns(len(columns) + 1, limits)
                columns[key] = [None] * (rows - 1)
        for key, values in columns.items():
            values.append(obj.get(key))
    if not build:
        return None
    arrays = {}
    for key, values in columns.items():
        try:
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays[key] = pa.array(
                [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
            )
    return pa.table(arrays)


def _read_jsonl(payload: bytes | bytearray, limits: IngestLimits) -> pa.Table:
    _check_text(payload, "JSON Lines", limits)
    _check_json_depth(payload, limits.max_json_depth)
    if _count_data_lines(payload, limits.max_rows) > limits.max_rows:
        raise _too_many_rows(limits)
    try:
        return pa_json.read_json(
            pa.BufferReader(pa.py_buffer(payload)),
            read_options=pa_json.ReadOptions(block_size=max(4 * MiB, 2 * limits.max_line_bytes + 2)),
        )
    except MemoryError:
        raise _limit("too_large", "file does not fit in memory: split it into smaller batches") from None
    except Exception as exc:
        message = _safe_arrow_message(exc)
    if "specified twice" in message:
        raise _reject("duplicate_columns", "an object has the same key twice; keys must be unique")
    build = len(payload) <= JSON_FALLBACK_MAX_BYTES
    table = _read_jsonl_python(payload, limits, build=build)
    if table is None:
        raise _reject(
            "parse_error",
            f"JSON Lines could not be parsed ({message}); files over {_mib(JSON_FALLBACK_MAX_BYTES)} must "
            "keep one JSON type per key (or upload CSV/Parquet)",
        )
    return table


# --- Parquet -------------------------------------------------------------------------------
def _type_depth(t: pa.DataType) -> int:
    if t.num_fields == 0:
        return 0
    return 1 + max(_type_depth(t.field(i).type) for i in range(t.num_fields))


def check_parquet_size(
    uncompressed: int, stored: int, limits: IngestLimits, *, what: str = "Parquet data"
) -> None:
    """The decompression limits, from the sizes a Parquet footer states: before anything is decoded
    (a whole file here; each row group when domain.chunking plans a scaled-out batch)."""
    if uncompressed > limits.max_decompressed_bytes:
        raise _limit(
            "decompressed_too_large",
            f"{what} decompresses to {_mib(uncompressed)}; the limit is "
            f"{_mib(limits.max_decompressed_bytes)} (IngestLimits.max_decompressed_bytes)",
        )
    if (
        uncompressed > limits.ratio_check_after_bytes
        and uncompressed / max(stored, 1) > limits.max_compression_ratio
    ):
        raise _limit(
            "decompression_bomb",
            f"{what} expands {uncompressed / max(stored, 1):.0f}x when decompressed "
            f"(limit {limits.max_compression_ratio:g}x): refused as a decompression bomb",
        )


def _read_parquet(payload: bytes | bytearray, limits: IngestLimits) -> pa.Table:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(pa.py_buffer(payload)))
        meta = parquet.metadata
        schema = parquet.schema_arrow
        uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception as exc:
        raise _reject(
            "parse_error", f"not a readable Parquet file ({_safe_arrow_message(exc)}): re-export it"
        ) from None
    if len(schema) > limits.max_columns:
        raise too_many_columns(len(schema), limits)
    if meta.num_rows > limits.max_rows:
        raise _too_many_rows(limits)
    check_parquet_size(uncompressed, len(payload), limits)
    depth = max((_type_depth(f.type) for f in schema), default=0)
    if depth > limits.max_json_depth:
        raise _limit(
            "nested_too_deep",
            f"a Parquet column nests {depth} levels deep; the limit is {limits.max_json_depth}: flatten it",
        )
    try:
        return parquet.read(use_threads=True)
    except MemoryError:
        raise _limit("too_large", "file does not fit in memory: split it into smaller batches") from None
    except Exception as exc:
        raise _reject(
            "parse_error", f"Parquet data could not be read ({_safe_arrow_message(exc)}): re-export it"
        ) from None


# --- common checks -------------------------------------------------------------------------
def clean_column_name(name: str) -> str:
    """Column names without byte-order marks and surrounding whitespace (originals kept in metadata)."""
    return name.strip().strip("\ufeff").strip()


def _display(name: str) -> str:
    shown = name if len(name) <= 60 else name[:57] + "..."
    return repr(shown)


def _normalise_columns(table: pa.Table) -> pa.Table:
    names = [clean_column_name(n) for n in table.column_names]
    if names and names[-1] == "" and table.num_columns > 1 and table.column(-1).null_count == table.num_rows:
        table = table.remove_column(table.num_columns - 1)  # trailing delimiter on every line
        names.pop()
    empty = [i + 1 for i, n in enumerate(names) if n == ""]
    if empty:
        hint = " (pandas writes its index this way: use to_csv(index=False))" if empty == [1] else ""
        raise _reject(
            "empty_column_name",
            f"column(s) at position {', '.join(map(str, empty[:10]))} have an empty name{hint}: "
            "name every column",
        )
    dup = sorted(n for n, k in Counter(names).items() if k > 1)
    if dup:
        raise _reject(
            "duplicate_columns",
            f"column name(s) {', '.join(_display(n) for n in dup[:10])} appear more than once "
            "(after trimming spaces): make them unique",
        )
    return table.rename_columns(names)


def read_batch(data: bytes | bytearray, filename: str, limits: IngestLimits | None = None) -> IngestedBatch:
    """Parse an upload; raise BatchRejected/LimitExceeded with a stable ``code`` if it cannot be read."""
    limits = limits or IngestLimits()
    if len(data) > limits.max_object_bytes:
        raise _limit(
            "object_too_large",
            f"file is {_mib(len(data))}; the limit is {_mib(limits.max_object_bytes)} "
            "(IngestLimits.max_object_bytes): split it into smaller batches",
        )
    if not data:
        raise _reject("empty_file", "file is empty: upload a header row and at least one data row")
    fmt, gzipped = detect_format(filename, data)
    payload: bytes | bytearray = _gunzip(data, limits) if gzipped else data
    if bytes(payload[:3]) == codecs.BOM_UTF8:  # a slice: the CLI passes a memory map of a Parquet file
        payload = payload[len(codecs.BOM_UTF8) :]
    if not _NON_SPACE.search(payload):
        raise _reject("empty_file", "file has no content: upload a header row and at least one data row")
    dialect: _CsvDialect | None = None
    if fmt == "parquet":
        table = _read_parquet(payload, limits)
    elif fmt == "jsonl" and looks_like_sagemaker(payload[:_SNIFF_BYTES]):
        _check_text(payload, "JSON Lines", limits)  # SageMaker capture, ground truth or transform output
        _check_json_depth(payload, limits.max_json_depth)
        table = decode_sagemaker(payload, filename, limits.max_rows)
    elif fmt == "jsonl":
        table = _read_jsonl(payload, limits)
    else:
        table, dialect = _read_csv(payload, limits)
    capture = (table.schema.metadata or {}).get(CAPTURE_METADATA_KEY)
    if table.num_columns > limits.max_columns:
        raise too_many_columns(table.num_columns, limits)
    if table.num_rows > limits.max_rows:
        raise _too_many_rows(limits)
    if table.num_columns == 0:
        raise _reject("no_columns", "file has no columns: upload a header row naming each column")
    original = tuple(table.column_names)
    table = _normalise_columns(table)
    if table.num_rows == 0:
        raise _reject("no_rows", "file has a header but no data rows")
    batch = IngestedBatch(
        table=table,
        format=fmt,
        gzipped=gzipped,
        delimiter=dialect.delimiter if dialect else None,
        decimal_point=dialect.decimal_point if dialect else None,
        original_columns=original[: table.num_columns],
        decompressed_bytes=len(payload),
    )
    meta = {INGEST_METADATA_KEY: json.dumps(batch.metadata()).encode()}
    if capture is not None:
        meta[CAPTURE_METADATA_KEY] = capture
    return replace(batch, table=table.replace_schema_metadata(meta))


def read_table(data: bytes | bytearray, filename: str, limits: IngestLimits | None = None) -> pa.Table:
    """Parse an upload into a Table; how it was read is in the schema metadata (see ingest_metadata)."""
    return read_batch(data, filename, limits).table


def ingest_metadata(table: pa.Table) -> dict[str, Any]:
    """What read_table recorded: format, gzipped, delimiter, decimal_point, original_columns, ..."""
    raw = (table.schema.metadata or {}).get(INGEST_METADATA_KEY)
    return json.loads(raw) if raw else {}
