"""The data contract: which columns a batch must carry for its role, and their types, per the model spec.

:func:`conform` turns whatever :func:`~modelsteward.domain.ingest.read_table` produced into the one
shape every later step relies on (numeric features float64, categoricals/ids text, timestamps UTC),
and records what it had to fix as findings. It raises :class:`~modelsteward.errors.BatchRejected`
only when the batch is unusable: a required column is missing, or a required numeric column is
unparsable in more than :data:`MAX_INVALID_SHARE` of its non-empty values. Everything else is a
finding; the quality policy decides what a finding costs. All work is vectorized pyarrow (no pandas,
no per-row Python), so wide or high-cardinality batches stay fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BatchRejected
from ..spec import ModelSpec
from .arrow_values import (
    EMPTY_TEXT,
    NULL_TEXT,
    UTC_MICROS,
    as_strings,
    float_scalar,
    null_like,
    null_scalar,
    python_map,
    string_array,
    string_scalar,
)
from .ingest import ingest_metadata
from .pii import describe_values

Role = Literal["inference", "reference", "training", "labels", "scoring"]
Severity = Literal["error", "warning"]
ColumnKind = Literal["id", "timestamp", "numeric", "categorical", "label", "probability"]

#: A required numeric column is rejected when more than this share of its non-empty values are not
#: finite numbers (unparsable text, nested values, +-inf). Up to it, the bad values become null and
#: a ``type_mismatch`` / ``non_finite`` error finding records how many.
MAX_INVALID_SHARE = 0.01
#: Name accepted for the label column of a ``labels`` batch besides the spec's target column.
LABEL_ALIAS = "label"
#: Which version and variant scored each row: the suite's scorer adds them to the inference copy it
#: writes (services/score_batch), a model served elsewhere may name them (services/byom reads them).
#: Bookkeeping the spec need not name: dropped like extra columns, never reported as such.
VERSION_COLUMN, VARIANT_COLUMN = "model_version", "variant"
SCORER_COLUMNS = (VERSION_COLUMN, VARIANT_COLUMN)

_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?i:inf|infinity|nan)$"
_ISO_TIMESTAMP = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH_TEXT = r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$"
_HAS_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_INTEGRAL_DECIMAL = r"^([+-]?\d+)\.0*$"
_EXAMPLES = 3


@dataclass(frozen=True)
class ContractFinding:
    """One contract check that did not pass; ``count`` is the number of affected values (or columns)."""

    check: str
    column: str | None
    severity: Severity
    message: str
    count: int = 0


@dataclass
class ConformedBatch:
    """The batch in contract shape: known columns only, typed; plus what conforming found."""

    table: pa.Table
    findings: list[ContractFinding]
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def errors(self) -> list[ContractFinding]:
        return [f for f in self.findings if f.severity == "error"]


@dataclass(frozen=True)
class _Wanted:
    name: str  # name in the conformed table
    kind: ColumnKind
    required: bool
    describe: str  # what the column is, for messages
    aliases: tuple[str, ...] = ()


def example_text(value: Any, limit: int = 24) -> str:
    """A value safe to show in a message or log: truncated and escaped (control chars, non-ASCII)."""
    text = value if isinstance(value, str) else str(value)
    short = text[:limit]
    return ascii(short) + ("…" if len(text) > limit else "")


#: How many offending values are looked at to describe them in a message.
_DESCRIBED_VALUES = 200


def _examples(values: pa.ChunkedArray | pa.Array, mask: pa.ChunkedArray | pa.Array) -> str:
    """Offending values described by their shape, never quoted ("2 values like <email address>, 1 value
    like 'n/a'"): these messages reach reports, logs, emails and the immutable audit trail, and a value
    the spec calls a number was never screened as text (docs/pii.md)."""
    picked = pc.filter(values, mask)
    shown = [v if isinstance(v, str) else str(v) for v in picked.slice(0, _DESCRIBED_VALUES).to_pylist()]
    return describe_values([v for v in shown if v is not None], _EXAMPLES)


@dataclass
class _Parsed:
    values: pa.ChunkedArray
    invalid: int = 0  # non-empty values that are not of the wanted type
    non_finite: int = 0  # +-inf (numeric only)
    non_null: int = 0  # non-empty input values
    invalid_examples: str = ""


def _blank_to_null(text: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(trimmed, EMPTY_TEXT), NULL_TEXT, trimmed)


def _parse_number_text(text: pa.ChunkedArray, decimal_comma: bool) -> tuple[pa.ChunkedArray, Any]:
    """(float64 values, mask of unparsable non-null values or None). 'true'/'false' count as 1/0."""
    if decimal_comma:
        text = pc.replace_substring(text, ",", ".")
    try:
        return text.cast(pa.float64()), None
    except pa.ArrowInvalid:
        pass
    lower = pc.utf8_lower(text)
    is_true, is_false = pc.equal(lower, string_scalar("true")), pc.equal(lower, string_scalar("false"))
    numeric = pc.match_substring_regex(text, _NUMBER)
    try:
        parsed = pc.if_else(numeric, text, NULL_TEXT).cast(pa.float64())
    except pa.ArrowInvalid:  # the regex and Arrow's parser disagree on some spelling: ask Python
        parsed = python_map(pc.if_else(numeric, text, NULL_TEXT), _float_or_nan, pa.float64())
    parsed = pc.if_else(is_true, float_scalar(1.0), pc.if_else(is_false, float_scalar(0.0), parsed))
    invalid = pc.and_(pc.is_valid(text), pc.invert(pc.or_(numeric, pc.or_(is_true, is_false))))
    return parsed, invalid


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _to_float(col: pa.ChunkedArray, decimal_comma: bool) -> _Parsed:
    t = col.type
    if pa.types.is_dictionary(t):
        return _to_float(col.cast(t.value_type), decimal_comma)
    n = len(col)
    invalid_mask = None
    if pa.types.is_null(t):
        return _Parsed(null_like(n, pa.float64()))
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        non_null = n - col.null_count
        values = col.cast(pa.float64(), safe=False)  # ints beyond 2**53 round
        source = col
    elif (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        source = as_strings(col)
        try:  # fast path: clean numbers (CSV empty cells are null already)
            values = source.cast(pa.float64())
        except pa.ArrowInvalid:
            source = _blank_to_null(source)
            values, invalid_mask = _parse_number_text(source, decimal_comma)
        non_null = n - source.null_count
    else:  # dates, nested values ...: not numbers
        source = col
        non_null = n - col.null_count
        invalid_mask = pc.is_valid(col)
        values = null_like(n, pa.float64())
    parsed = _Parsed(values, non_null=non_null)
    if invalid_mask is not None:
        parsed.invalid = int(pc.sum(invalid_mask).as_py() or 0)
        if parsed.invalid:
            parsed.invalid_examples = _examples(as_strings(source), invalid_mask)
    finite = pc.is_finite(values)
    if int(pc.sum(finite).as_py() or 0) < n - values.null_count:  # NaN -> null; inf -> null, counted
        parsed.non_finite = int(pc.sum(pc.is_inf(values)).as_py() or 0)
        values = pc.if_else(finite, values, null_scalar(pa.float64()))
    parsed.values = values
    return parsed


def _epoch_to_timestamp(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Numbers as Unix epoch; each value's unit is read from its magnitude: below 1e11 seconds, below
    1e14 milliseconds, below 1e17 microseconds, else nanoseconds (docs/limits.md)."""
    finite = pc.if_else(pc.or_kleene(pc.is_nan(values), pc.is_inf(values)), null_scalar(pa.float64()), values)
    size = pc.abs(finite)
    scale = pc.if_else(
        pc.less(size, float_scalar(1e11)),
        float_scalar(1e6),
        pc.if_else(
            pc.less(size, float_scalar(1e14)),
            float_scalar(1e3),
            pc.if_else(pc.less(size, float_scalar(1e17)), float_scalar(1.0), float_scalar(1e-3)),
        ),
    )
    micros = pc.multiply(finite, scale)
    in_range = pc.less_equal(pc.abs(micros), float_scalar(9.2e18))
    micros = pc.if_else(in_range, micros, null_scalar(pa.float64()))
    return pc.floor(micros).cast(pa.int64()).cast(UTC_MICROS)


def _parse_iso_python(text: str) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def _parse_timestamp_text(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, Any, pa.ChunkedArray]:
    """(timestamps, mask of unparsable values or None, the text as judged)."""
    for fast in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):  # one clean ISO-8601 spelling
        try:
            return text.cast(fast).cast(UTC_MICROS, safe=False), None, text
        except pa.ArrowInvalid:
            pass
    text = _blank_to_null(text)
    iso = pc.match_substring_regex(text, _ISO_TIMESTAMP)
    zoned = pc.and_(iso, pc.match_substring_regex(text, _HAS_ZONE))
    naive = pc.and_(iso, pc.invert(zoned))
    none = NULL_TEXT
    try:
        aware_values = pc.if_else(zoned, text, none).cast(pa.timestamp("ns", tz="UTC"))
        naive_values = (
            pc.if_else(naive, text, none).cast(pa.timestamp("ns")).cast(pa.timestamp("ns", tz="UTC"))
        )
        values = pc.coalesce(aware_values, naive_values).cast(UTC_MICROS, safe=False)
    except pa.ArrowInvalid:  # e.g. month 13, or years outside 1677-2262: decide value by value
        values = python_map(pc.if_else(iso, text, none), _parse_iso_python, UTC_MICROS)
    epoch = pc.match_substring_regex(text, _EPOCH_TEXT)
    if pc.any(epoch).as_py():
        values = pc.coalesce(values, _epoch_to_timestamp(pc.if_else(epoch, text, none).cast(pa.float64())))
    invalid = pc.and_(pc.is_valid(text), pc.is_null(values))
    return values, invalid, text


def _to_timestamp(col: pa.ChunkedArray) -> _Parsed:
    t = col.type
    if pa.types.is_dictionary(t):
        return _to_timestamp(col.cast(t.value_type))
    n = len(col)
    non_null = n - col.null_count
    if pa.types.is_null(t):
        return _Parsed(null_like(n, UTC_MICROS))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _Parsed(col.cast(UTC_MICROS, safe=False), non_null=non_null)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = _epoch_to_timestamp(col.cast(pa.float64(), safe=False))
        invalid_mask: Any = pc.and_(pc.is_valid(col), pc.is_null(values))
        source = col
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        values, invalid_mask, source = _parse_timestamp_text(as_strings(col))
        non_null = n - source.null_count
    else:
        source = col
        values = null_like(n, UTC_MICROS)
        invalid_mask = pc.is_valid(col)
    parsed = _Parsed(values, non_null=non_null)
    if invalid_mask is not None:
        parsed.invalid = int(pc.sum(invalid_mask).as_py() or 0)
    if parsed.invalid:
        parsed.invalid_examples = _examples(as_strings(source), invalid_mask)
    return parsed


def _to_label(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Class labels as text, so 1, 1.0, "1" and " 1 " from different file formats are the same class."""
    text = _blank_to_null(as_strings(col))
    return pc.replace_substring_regex(text, _INTEGRAL_DECIMAL, r"\1")


# --- which columns a role needs ----------------------------------------------------------------------
def probability_columns(spec: ModelSpec, available: list[str] | tuple[str, ...]) -> list[str]:
    """The spec's probability column, and ``<probability_column>_<class>`` per class, when present."""
    if not spec.probability_column:
        return []
    names = [spec.probability_column, *(f"{spec.probability_column}_{c}" for c in spec.classes or [])]
    return [n for n in names if n in available]


def _wanted(spec: ModelSpec, role: Role, available: list[str]) -> list[_Wanted]:
    needs_features = role != "labels"
    needs_id = role in ("inference", "scoring", "labels")
    needs_target = role in ("training", "labels")
    label_kind: ColumnKind = "label" if spec.is_classifier else "numeric"
    wanted = [_Wanted(spec.id_column, "id", needs_id, "id column")]
    if spec.timestamp_column:
        wanted.append(_Wanted(spec.timestamp_column, "timestamp", False, "timestamp column"))
    wanted += [_Wanted(f, "numeric", needs_features, "numeric feature") for f in spec.features.numeric]
    wanted += [
        _Wanted(f, "categorical", needs_features, "categorical feature") for f in spec.features.categorical
    ]
    wanted += [_Wanted(a, "categorical", False, "sensitive attribute") for a in spec.sensitive_only_columns]
    wanted.append(_Wanted(spec.prediction_column, label_kind, role == "inference", "prediction column"))
    wanted += [
        _Wanted(p, "probability", False, "probability column") for p in probability_columns(spec, available)
    ]
    aliases = (LABEL_ALIAS,) if role == "labels" and spec.target != LABEL_ALIAS else ()
    wanted.append(_Wanted(spec.target, label_kind, needs_target, "target column", aliases))
    return wanted


def contract_columns(spec: ModelSpec, available: Sequence[str]) -> list[str]:
    """The columns of ``available`` that :func:`conform` may keep, for any role (the PII screen
    scans exactly these, as read, before any conversion)."""
    names: list[str] = []
    for w in _wanted(spec, "labels", list(available)) + _wanted(spec, "inference", list(available)):
        names += [w.name, *w.aliases]
    present = set(available)
    return [n for n in dict.fromkeys(names) if n in present]


def _missing_message(role: Role, missing: list[_Wanted], available: list[str]) -> str:
    lowered = {a.lower(): a for a in available}
    parts = []
    for w in missing:
        names = " or ".join(repr(n) for n in (w.name, *w.aliases))
        hint = (
            f" (found {lowered[w.name.lower()]!r}: names are case-sensitive)"
            if w.name.lower() in lowered
            else ""
        )
        parts.append(f"{names} ({w.describe}){hint}")
    shown = ", ".join(repr(a) for a in available[:20]) + (" ..." if len(available) > 20 else "")
    return f"a {role} batch needs column(s) {'; '.join(parts)}; the file has: {shown or 'no columns'}"


def reported_extra_columns(extra: Sequence[str], role: Role) -> list[str]:
    """The dropped columns worth telling the owner about: not the scorer's bookkeeping on inference."""
    return [c for c in extra if not (role == "inference" and c in SCORER_COLUMNS)]


# --- conform -----------------------------------------------------------------------------------------
# long: the contract's checks in the order a batch meets them, each a finding or a rejection
def conform(table: pa.Table, spec: ModelSpec, *, role: Role) -> ConformedBatch:
    """Check and coerce a batch to the contract for ``role``; raise BatchRejected if it is unusable."""
    from .capture import for_spec  # SageMaker capture / ground truth: named after the spec first

    table, capture_warnings = for_spec(table, spec)
    available = list(table.column_names)
    wanted = _wanted(spec, role, available)
    sources: dict[str, str] = {}
    missing = []
    for w in wanted:
        source = next((n for n in (w.name, *w.aliases) if n in available), None)
        if source is not None:
            sources[w.name] = source
        elif w.required:
            missing.append(w)
    if missing:
        raise BatchRejected(_missing_message(role, missing, available), code="missing_columns")

    findings: list[ContractFinding] = [
        ContractFinding("capture_records_skipped", None, "warning", w) for w in capture_warnings
    ]
    rejections: list[str] = []
    decimal_comma = ingest_metadata(table).get("decimal_point") == ","
    columns: dict[str, pa.ChunkedArray] = {}
    for w in wanted:
        if w.name not in sources:
            continue
        col = table.column(sources[w.name])
        if w.kind in ("numeric", "probability"):
            parsed = _to_float(col, decimal_comma)
            columns[w.name] = parsed.values
            _numeric_findings(w, parsed, findings, rejections)
            if w.kind == "probability":
                _probability_range(w.name, parsed.values, findings)
        elif w.kind == "timestamp":
            parsed = _to_timestamp(col)
            columns[w.name] = parsed.values
            if parsed.invalid:
                findings.append(
                    ContractFinding(
                        "type_mismatch",
                        w.name,
                        "error",
                        f"{parsed.invalid} value(s) of {w.name!r} are not ISO-8601 timestamps or epoch "
                        f"numbers ({parsed.invalid_examples}); they are treated as missing",
                        parsed.invalid,
                    )
                )
        elif w.kind == "id":
            ids = _blank_to_null(as_strings(col))
            columns[w.name] = ids
            _id_findings(w.name, ids, findings)
        elif w.kind == "label":
            labels = _to_label(col)
            columns[w.name] = labels
            _class_findings(w, labels, spec, findings)
        else:
            columns[w.name] = as_strings(col)
        if w.kind in ("numeric", "label") and w.name == spec.target and role in ("training", "labels"):
            nulls = columns[w.name].null_count
            if nulls:
                findings.append(
                    ContractFinding(
                        "null_target",
                        w.name,
                        "warning",
                        f"{nulls} row(s) have no {w.name!r} value; "
                        "they cannot be used for training or evaluation",
                        nulls,
                    )
                )
    if rejections:
        raise BatchRejected("; ".join(rejections), code="type_mismatch")

    if role == "inference" and spec.timestamp_column and spec.timestamp_column not in sources:
        findings.append(
            ContractFinding(
                "missing_timestamp",
                spec.timestamp_column,
                "warning",
                f"the spec names timestamp column {spec.timestamp_column!r} but the batch has none; "
                "the upload time stands in for it",
            )
        )
    used = set(sources.values())
    extra = [c for c in available if c not in used]
    reported = reported_extra_columns(extra, role)
    if reported:
        shown = ", ".join(repr(c) for c in reported[:10]) + (" ..." if len(reported) > 10 else "")
        findings.append(
            ContractFinding(
                "extra_columns",
                None,
                "warning",
                f"{len(reported)} column(s) not in the spec were dropped: {shown}",
                len(reported),
            )
        )
    return ConformedBatch(table=pa.table(columns), findings=findings, extra_columns=extra)


def _numeric_findings(
    w: _Wanted, parsed: _Parsed, findings: list[ContractFinding], rejections: list[str]
) -> None:
    if parsed.invalid:
        findings.append(
            ContractFinding(
                "type_mismatch",
                w.name,
                "error",
                f"{parsed.invalid} of {parsed.non_null} non-empty value(s) of {w.describe} {w.name!r} "
                f"are not numbers ({parsed.invalid_examples}); they are treated as missing",
                parsed.invalid,
            )
        )
    if parsed.non_finite:
        findings.append(
            ContractFinding(
                "non_finite",
                w.name,
                "error",
                f"{parsed.non_finite} value(s) of {w.describe} {w.name!r} are infinite; "
                "they are treated as missing",
                parsed.non_finite,
            )
        )
    bad = parsed.invalid + parsed.non_finite
    if w.required and parsed.non_null and bad > MAX_INVALID_SHARE * parsed.non_null:
        detail = f" ({parsed.invalid_examples})" if parsed.invalid_examples else ""
        rejections.append(
            f"{w.describe} {w.name!r}: {bad} of {parsed.non_null} non-empty values "
            f"({bad / parsed.non_null:.1%}) are not finite numbers{detail}; at most "
            f"{MAX_INVALID_SHARE:.0%} may be"
        )


def _probability_range(name: str, values: pa.ChunkedArray, findings: list[ContractFinding]) -> None:
    outside = int(
        pc.sum(pc.or_(pc.less(values, float_scalar(0.0)), pc.greater(values, float_scalar(1.0)))).as_py() or 0
    )
    if outside:
        findings.append(
            ContractFinding(
                "probability_out_of_range",
                name,
                "error",
                f"{outside} value(s) of probability column {name!r} are outside [0, 1]",
                outside,
            )
        )


def _repeated_values(values: pa.ChunkedArray) -> int:
    """Rows whose value appeared before; sorting is ~10x faster than pc.count_distinct on strings."""
    present = pc.drop_null(values)
    if len(present) < 2:
        return 0
    ordered = present.take(pc.sort_indices(present))
    same = pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
    return int(pc.sum(same).as_py() or 0)


def _id_findings(name: str, ids: pa.ChunkedArray, findings: list[ContractFinding]) -> None:
    nulls = ids.null_count
    if nulls:
        findings.append(
            ContractFinding(
                "null_ids",
                name,
                "error",
                f"{nulls} row(s) have an empty id column {name!r}; ids must be present to join labels",
                nulls,
            )
        )
    repeats = _repeated_values(ids)
    if repeats:
        findings.append(
            ContractFinding(
                "duplicate_ids",
                name,
                "warning",
                f"{repeats} row(s) repeat an id already seen in {name!r}",
                repeats,
            )
        )


def _class_findings(
    w: _Wanted, labels: pa.ChunkedArray, spec: ModelSpec, findings: list[ContractFinding]
) -> None:
    if not spec.classes:
        return
    unknown_mask = pc.and_(pc.is_valid(labels), pc.invert(pc.is_in(labels, string_array(spec.classes))))
    unknown = int(pc.sum(unknown_mask).as_py() or 0)
    if unknown:
        is_prediction = w.name == spec.prediction_column
        findings.append(
            ContractFinding(
                # invalid predictions are judged by quality against quality.max_invalid_prediction_share
                "invalid_predictions" if is_prediction else "unknown_class",
                w.name,
                "warning",
                f"{unknown} value(s) of {w.describe} {w.name!r} are not among the spec's classes "
                f"{spec.classes} ({_examples(labels, unknown_mask)})",
                unknown,
            )
        )
