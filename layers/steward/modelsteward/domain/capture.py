"""SageMaker Model Monitor's own files, read as they are: endpoint data capture, ground truth, and
batch-transform output joined with its input.

Formats (AWS docs "model-monitor-data-capture", "model-monitor-model-quality-merge"), one JSON
object per line:

* data capture::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV" | "JSON" | "BASE64"},
                     "endpointOutput": {"observedContentType": "...", "mode": "OUTPUT", "data": "...",
                                        "encoding": "..."}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "2026-..Z"},
     "eventVersion": "0"}

  S3 layout ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``: uploaded under
  ``inference/<model>/`` with that tail kept (``inference/<model>/<endpoint>/<variant>/...``), the
  variant is taken from the key;
* ground truth: ``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId":
  "..."}, "eventVersion": "0"}``;
* batch transform with ``join_source=Input`` and JSON Lines: each input object plus
  ``"SageMakerOutput"``.

Two steps, because reading knows no spec and naming does:

1. :func:`decode` (called by domain.ingest for JSON Lines that look like these files) turns records
   into rows with reserved column names: ``sm_event_id`` (``inferenceId`` when the caller supplied
   one, else ``eventId``: the id Model Monitor merges ground truth by), ``sm_inference_time``,
   ``sm_variant``, the input (named fields from JSON objects; ``sm_in_<i>`` for CSV / arrays), the
   output (named fields; ``sm_out_<i>`` for CSV / arrays) and ``sm_ground_truth``;
2. :func:`for_spec` (called by domain.contract.conform and by evaluate_labels) names them after the
   spec: id, timestamp, features in the spec's order, prediction and probabilities (a single
   classifier score in [0, 1] is P(positive class), and the prediction is the positive class at
   >= 0.5), the target.

A record that cannot be decoded is counted by reason (never quoted); a file where more than
:data:`MAX_UNDECODABLE_SHARE` of the records cannot be decoded is refused with those counts.
Pure (json, base64, csv, pyarrow).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections import Counter
from typing import Any

import pyarrow as pa

from ..errors import BatchRejected
from ..spec import ModelSpec

CAPTURE_METADATA_KEY = b"modelsteward.capture"
MAX_UNDECODABLE_SHARE = 0.05
EVENT_ID = "sm_event_id"
TIME = "sm_inference_time"
VARIANT = "sm_variant"
GROUND_TRUTH = "sm_ground_truth"
IN_PREFIX = "sm_in_"
OUT_PREFIX = "sm_out_"
KINDS = ("captureData", "groundTruthData", "SageMakerOutput")
# <endpoint>/<variant>/yyyy/mm/dd/hh/<file>: the endpoint's data-capture layout
_LAYOUT = re.compile(r"(?:^|/)(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+$")
# JSON keys SageMaker's built-in algorithms answer with
_PREDICTION_KEYS = ("predicted_label", "label", "predictions")
_SCORE_KEYS = ("score", "probability")


def looks_like_sagemaker(head: bytes | bytearray) -> str | None:
    """The kind of SageMaker file whose first JSON line this is (a key of :data:`KINDS`), else None."""
    first = bytes(head).lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    if not first.startswith(b"{"):
        return None
    for kind in KINDS:
        if f'"{kind}"'.encode() in first:
            return kind
    return None


def variant_from_key(filename: str) -> str | None:
    match = _LAYOUT.search(filename)
    return match.group("variant") if match else None


def _reject(code: str, message: str) -> BatchRejected:
    return BatchRejected(message, code=code)


# --- step 1: records -> rows with reserved names -----------------------------------------------------
class _Undecodable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _payload(part: Any, what: str) -> tuple[str, Any]:
    """(content kind, decoded value) of an endpointInput/endpointOutput/groundTruthData object."""
    if not isinstance(part, dict) or "data" not in part:
        raise _Undecodable(f"{what} has no 'data'")
    encoding = str(part.get("encoding") or "").upper()
    content_type = str(part.get("observedContentType") or "").lower()
    data = part["data"]
    if not isinstance(data, str):
        raise _Undecodable(f"{what} data is not a string")
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _Undecodable(f"{what} is not valid base64 UTF-8 text") from None
        encoding = (
            "JSON" if "json" in content_type else "CSV" if ("csv" in content_type or not content_type) else ""
        )
        if not encoding:
            raise _Undecodable(f"{what} content type is neither CSV nor JSON")
    if encoding == "JSON":
        try:
            return "json", json.loads(data)
        except ValueError:
            raise _Undecodable(f"{what} is not valid JSON") from None
    if encoding == "CSV":
        lines = [row for row in csv.reader(io.StringIO(data)) if row]
        if not lines:
            raise _Undecodable(f"{what} is empty")
        return "csv", lines
    raise _Undecodable(f"{what} encoding is not CSV, JSON or BASE64")


def _rows_of(kind: str, value: Any, prefix: str, what: str) -> list[dict[str, Any]]:
    """Rows (dicts) of a decoded input or output: named fields, or positional ``<prefix><i>``."""
    if kind == "csv":
        return [{f"{prefix}{i}": v.strip() for i, v in enumerate(line)} for line in value]
    if isinstance(value, dict):
        for key in ("instances", "predictions"):
            if isinstance(value.get(key), list) and len(value) == 1:
                return _rows_of("json", value[key], prefix, what)
        return [dict(value)]
    if isinstance(value, list):
        if value and all(isinstance(v, dict | list) for v in value):
            out = []
            for v in value:
                out += _rows_of("json", v, prefix, what)
            return out
        return [{f"{prefix}{i}": v for i, v in enumerate(value)}]
    if isinstance(value, str | int | float | bool):
        return [{f"{prefix}0": value}]
    raise _Undecodable(f"{what} holds neither an object, an array nor a value")


def _event(obj: dict[str, Any]) -> tuple[Any, Any]:
    meta = obj.get("eventMetadata")
    if not isinstance(meta, dict):
        raise _Undecodable("record has no eventMetadata")
    event_id = meta.get("inferenceId") or meta.get("eventId")
    if not isinstance(event_id, str | int) or event_id == "":
        raise _Undecodable("eventMetadata has no eventId")
    return str(event_id), meta.get("inferenceTime")


def _capture_rows(obj: dict[str, Any]) -> list[dict[str, Any]]:
    capture = obj.get("captureData")
    if not isinstance(capture, dict):
        raise _Undecodable("captureData is not an object")
    event_id, when = _event(obj)
    inputs = _rows_of(*_payload(capture.get("endpointInput"), "endpointInput"), IN_PREFIX, "endpointInput")
    if "endpointOutput" not in capture:
        raise _Undecodable("captureData has no endpointOutput (capture mode Input only)")
    outputs = _rows_of(*_payload(capture["endpointOutput"], "endpointOutput"), OUT_PREFIX, "endpointOutput")
    if len(inputs) != len(outputs):
        raise _Undecodable("endpointInput and endpointOutput hold different numbers of rows")
    rows = []
    for k, (inp, out) in enumerate(zip(inputs, outputs, strict=True)):
        rid = event_id if len(inputs) == 1 else f"{event_id}:{k}"
        rows.append({EVENT_ID: rid, TIME: when, **inp, **out})
    return rows


def _ground_truth_rows(obj: dict[str, Any]) -> list[dict[str, Any]]:
    event_id, _ = _event(obj)
    kind, value = _payload(obj.get("groundTruthData"), "groundTruthData")
    if kind == "csv":
        if len(value) != 1 or len(value[0]) != 1:
            raise _Undecodable("groundTruthData holds more than one value")
        label: Any = value[0][0].strip()
    elif isinstance(value, dict | list):
        raise _Undecodable("groundTruthData JSON is not a single value")
    else:
        label = value
    return [{EVENT_ID: event_id, GROUND_TRUTH: label}]


def _transform_rows(obj: dict[str, Any]) -> list[dict[str, Any]]:
    output = obj.get("SageMakerOutput")
    row = {k: v for k, v in obj.items() if k != "SageMakerOutput"}
    outs = _rows_of("json", output, OUT_PREFIX, "SageMakerOutput")
    if len(outs) != 1:
        raise _Undecodable("SageMakerOutput holds more than one row for one input")
    return [{**row, **outs[0]}]


def decode(payload: bytes | bytearray, filename: str, max_rows: int) -> pa.Table:
    """SageMaker JSON Lines -> a table with reserved column names (see the module docstring)."""
    kind = looks_like_sagemaker(payload)
    if kind is None:
        raise _reject("not_sagemaker", "file is not SageMaker data capture, ground truth or transform output")
    build = {
        "captureData": _capture_rows,
        "groundTruthData": _ground_truth_rows,
        "SageMakerOutput": _transform_rows,
    }[kind]
    rows: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    records = 0
    for raw in bytes(payload).split(b"\n"):
        line = raw.strip()
        if not line:
            continue
        records += 1
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise _Undecodable("line is not a JSON object")
            if kind not in obj:
                raise _Undecodable(f"record has no '{kind}' (files must not mix record kinds)")
            rows += build(obj)
        except _Undecodable as exc:
            skipped[exc.reason] += 1
        except ValueError:
            skipped["line is not valid JSON"] += 1
        if len(rows) > max_rows:
            raise _reject("too_many_rows", f"file decodes to more than {max_rows:,} rows: split it")
    bad = sum(skipped.values())
    if records == 0 or not rows or bad > MAX_UNDECODABLE_SHARE * records:
        reasons = "; ".join(f"{n} record(s): {why}" for why, n in skipped.most_common(5)) or "no records"
        raise _reject(
            "capture_undecodable",
            f"{bad} of {records} SageMaker {kind} record(s) could not be decoded ({reasons}); at most "
            f"{MAX_UNDECODABLE_SHARE:.0%} may be",
        )
    variant = variant_from_key(filename) if kind == "captureData" else None
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays[name] = pa.array(
                [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
            )
    if variant:
        arrays[VARIANT] = pa.array([variant] * len(rows), pa.string())
    info = {"kind": kind, "records": records, "rows": len(rows), "skipped": dict(skipped), "variant": variant}
    return pa.table(arrays).replace_schema_metadata({CAPTURE_METADATA_KEY: json.dumps(info).encode()})


def capture_info(table: pa.Table) -> dict[str, Any] | None:
    raw = (table.schema.metadata or {}).get(CAPTURE_METADATA_KEY)
    return json.loads(raw) if raw else None


# --- step 2: reserved names -> the spec's ---------------------------------------------------------------
def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def for_spec(table: pa.Table, spec: ModelSpec) -> tuple[pa.Table, list[str]]:
    """Name a decoded SageMaker table's columns after the spec; returns it and warnings to report.

    Tables that are not decoded SageMaker files are returned as they are.
    """
    info = capture_info(table)
    if info is None:
        return table, []
    warnings = []
    if info.get("skipped"):
        reasons = "; ".join(f"{n} record(s): {why}" for why, n in info["skipped"].items())
        warnings.append(
            f"{sum(info['skipped'].values())} SageMaker record(s) could not be decoded and were "
            f"skipped ({reasons})"
        )
    columns: dict[str, pa.ChunkedArray] = {}
    names = table.column_names
    n_in = sum(1 for c in names if c.startswith(IN_PREFIX))
    features = spec.features.all
    if n_in and n_in != len(features):
        raise _reject(
            "capture_shape",
            f"the endpoint input holds {n_in} value(s) per row but the spec lists "
            f"{len(features)} feature(s); "
            f"CSV input must carry the features in the spec's order: {', '.join(features)}",
        )
    for name in names:
        col = table.column(name)
        if name == EVENT_ID:
            columns[spec.id_column] = col
        elif name == TIME:
            if spec.timestamp_column:
                columns[spec.timestamp_column] = col
        elif name == VARIANT:
            columns["variant"] = col
        elif name == GROUND_TRUTH:
            columns[spec.target] = col
        elif name.startswith(IN_PREFIX):
            columns[features[int(name.removeprefix(IN_PREFIX))]] = col
        elif not name.startswith(OUT_PREFIX):
            columns.setdefault(name, col)
    columns.update(_outputs(table, spec, columns))
    return pa.table(columns), warnings


def _argmax(values: list[float | None]) -> int:
    return max(range(len(values)), key=lambda j: values[j] or 0.0)


def _outputs(table: pa.Table, spec: ModelSpec, named: dict[str, Any]) -> dict[str, pa.Array]:
    """Prediction and probability columns from positional outputs or SageMaker's answer keys."""
    positional = sorted(
        (c for c in table.column_names if c.startswith(OUT_PREFIX)), key=lambda c: int(c[len(OUT_PREFIX) :])
    )
    out: dict[str, pa.Array] = {}
    prob = spec.probability_column or "probability"
    if not spec.is_classifier:
        if positional and spec.prediction_column not in named:
            out[spec.prediction_column] = table.column(positional[0])
        return out
    classes = [str(c) for c in (spec.classes or ["0", "1"])]
    if spec.prediction_column not in named:
        for key in _PREDICTION_KEYS:
            if key in named and key != spec.prediction_column:
                out[spec.prediction_column] = named[key]
                break
    if prob not in named:
        for key in _SCORE_KEYS:
            if key in named and key != prob:
                out[prob] = named[key]
                break
    if positional:
        values = [table.column(c).to_pylist() for c in positional]
        numeric = [[_number(v) for v in col] for col in values]
        n = table.num_rows
        if len(positional) == 1 and all(v is not None for v in numeric[0]):
            score = numeric[0]
            out[prob] = pa.array(score, pa.float64())
        elif len(positional) == 1:
            out[spec.prediction_column] = pa.array(
                [None if v is None else str(v) for v in values[0]], pa.string()
            )
        elif len(positional) == 2 and all(v is not None for v in numeric[1]) and len(classes) == 2:
            out[spec.prediction_column] = pa.array(
                [None if v is None else str(v) for v in values[0]], pa.string()
            )
            out[prob] = pa.array(numeric[1], pa.float64())
        elif len(positional) == len(classes):
            for j, c in enumerate(classes):
                out[f"{prob}_{c}"] = pa.array(numeric[j], pa.float64())
            best = [_argmax([numeric[j][i] for j in range(len(classes))]) for i in range(n)]
            out[spec.prediction_column] = pa.array([classes[b] for b in best], pa.string())
    if (
        spec.prediction_column not in named
        and spec.prediction_column not in out
        and prob in out
        and len(classes) == 2
    ):
        scores = [_number(v) for v in out[prob].to_pylist()]
        out[spec.prediction_column] = pa.array(
            [None if s is None else classes[1] if s >= 0.5 else classes[0] for s in scores], pa.string()
        )
    return out
