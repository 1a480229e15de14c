"""Arrow arrays and scalars built from buffers, and any column as text, without pandas.

pa.scalar() and pa.array() probe every Python value for pandas types, which imports pandas (~2 s of
cold start, notes/performance-facts.md). The contract and the PII screen both build values here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UTC_MICROS = pa.timestamp("us", tz="UTC")


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    return None if bool(valid.all()) else pa.py_buffer(np.packbits(valid, bitorder="little"))


def float_array(values: Sequence[float | None]) -> pa.Array:
    n = len(values)
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    data = np.fromiter((0.0 if v is None else v for v in values), dtype=np.float64, count=n)
    buffers = [_validity(valid), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.float64(), n, buffers, null_count=n - int(valid.sum()))


def int64_array(values: np.ndarray) -> pa.Array:
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)], null_count=0)


def string_array(values: Sequence[str | None]) -> pa.Array:
    n = len(values)
    encoded = [b"" if v is None else v.encode("utf-8", "replace") for v in values]
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
    large = int(offsets[-1]) >= 2**31
    buffers = [
        _validity(valid),
        pa.py_buffer(offsets if large else offsets.astype(np.int32)),
        pa.py_buffer(b"".join(encoded)),
    ]
    typ = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(typ, n, buffers, null_count=n - int(valid.sum()))


def timestamp_array(values: Sequence[dt.datetime | None]) -> pa.Array:
    """Aware datetimes as timestamp[us, UTC] (naive ones are taken as UTC)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    micros = [None if v is None else (v if v.tzinfo else v.replace(tzinfo=dt.UTC)) - epoch for v in values]
    n = len(values)
    valid = np.fromiter((m is not None for m in micros), dtype=bool, count=n)
    data = np.fromiter(
        (0 if m is None else m // dt.timedelta(microseconds=1) for m in micros), dtype=np.int64, count=n
    )
    return pa.Array.from_buffers(
        UTC_MICROS, n, [_validity(valid), pa.py_buffer(data)], null_count=n - int(valid.sum())
    )


def null_scalar(t: pa.DataType) -> pa.Scalar:
    return pa.nulls(1, t)[0]


def float_scalar(value: float) -> pa.Scalar:
    return float_array([value])[0]


def string_scalar(value: str) -> pa.Scalar:
    return string_array([value])[0]


NULL_TEXT = null_scalar(pa.string())
EMPTY_TEXT = string_scalar("")

_BUILDERS: dict[pa.DataType, Callable[[Sequence[Any]], pa.Array]] = {
    pa.string(): string_array,
    pa.float64(): float_array,
    UTC_MICROS: timestamp_array,
}


def null_like(n: int, t: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([pa.nulls(n, t)], type=t)


def as_chunked(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col], type=col.type)


def python_map(col: pa.ChunkedArray, fn: Callable[[Any], Any], t: pa.DataType) -> pa.ChunkedArray:
    """Slow path for exotic types (nested, undecodable bytes): one Python call per value."""
    return pa.chunked_array([_BUILDERS[t]([None if v is None else fn(v) for v in col.to_pylist()])], type=t)


def _json_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def as_strings(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Any column as text (null stays null, float NaN becomes null, nested values become JSON)."""
    col = as_chunked(col)
    t = col.type
    if pa.types.is_dictionary(t):
        return as_strings(col.cast(t.value_type))
    if pa.types.is_string(t):
        return col
    if pa.types.is_null(t):
        return null_like(len(col), pa.string())
    if pa.types.is_floating(t):
        col = pc.if_else(pc.is_nan(col), null_scalar(t), col)
    try:
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            try:
                return col.cast(pa.string())
            except pa.ArrowInvalid:
                return python_map(col, lambda b: bytes(b).decode("utf-8", "replace"), pa.string())
        if pa.types.is_nested(t):
            return python_map(col, _json_text, pa.string())
        return col.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return python_map(col, str, pa.string())
