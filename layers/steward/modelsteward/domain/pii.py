"""A small, precise PII scanner for batches, sized for a Lambda (no NLP models, no pandas).

Precision first (Presidio's users complain about false positives): every content detector pairs a
pattern with a validator - Luhn and card-brand prefixes for card numbers, ISO 13616 lengths and
mod-97 for IBANs, SSA area/group/serial rules for US SSNs, the ``ipaddress`` module for IPs, and
separators or a '+' prefix for phone numbers (so plain integer ids are never phones). Column names
add ``name_hint`` findings. Findings carry counts and a masked example, never a raw value.
docs/pii.md documents the rules and thresholds.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_values import as_strings, float_scalar, int64_array, null_scalar, string_array, string_scalar

PiiKind = Literal["email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "name_hint"]

#: A column is reported for a kind when at least min(MAX_MIN_MATCHES, max(1, ceil(MIN_SHARE * n)))
#: of its n non-empty sampled values contain a validated match: 1% of small samples, at most 10 hits.
MIN_SHARE = 0.01
MAX_MIN_MATCHES = 10
#: Unseparated 13-19 digit numbers count as card numbers only when at least this share of the
#: brand-plausible ones pass Luhn (real card columns ~100%, random ids ~10%).
PLAIN_CARD_LUHN_SHARE = 0.8
#: Only the first characters of each value are scanned (free text can be long).
MAX_VALUE_CHARS = 4096
REDACTED = "[REDACTED]"

# ISO 13616 IBAN lengths per country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}

# Column-name hints: a name is hinted when its tokens end with one of these (joined) token runs.
NAME_HINTS = frozenset(
    {
        "email",
        "emailaddress",
        "mail",
        "phone",
        "phonenumber",
        "mobile",
        "mobilenumber",
        "cellphone",
        "telephone",
        "tel",
        "fax",
        "ssn",
        "socialsecurity",
        "socialsecuritynumber",
        "nationalid",
        "taxid",
        "passport",
        "passportnumber",
        "driverslicense",
        "dob",
        "dateofbirth",
        "birthdate",
        "birthday",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "middlename",
        "surname",
        "maidenname",
        "familyname",
        "username",
        "customername",
        "clientname",
        "personname",
        "patientname",
        "contactname",
        "employeename",
        "membername",
        "holdername",
        "accountholder",
        "cardholder",
        "address",
        "streetaddress",
        "street",
        "zip",
        "zipcode",
        "postcode",
        "postalcode",
        "iban",
        "creditcard",
        "cardnumber",
        "ccnumber",
        "ip",
        "ipaddr",
        "ipaddress",
    }
)
_NAME_SUFFIXES_IGNORED = frozenset({"raw", "text", "str", "string", "value", "val"})


@dataclass(frozen=True)
class PiiFinding:
    """A column that holds (or by its name, probably holds) personal data. ``example`` is masked."""

    column: str
    kind: PiiKind
    count: int
    share: float
    example: str


@dataclass
class PiiReport:
    findings: list[PiiFinding]
    rows_scanned: int

    @property
    def columns(self) -> list[str]:
        """Columns with any finding, in table order of first finding (what a PII policy acts on)."""
        return list(dict.fromkeys(f.column for f in self.findings))

    def as_dict(self) -> dict[str, Any]:
        return {"rows_scanned": self.rows_scanned, "findings": [asdict(f) for f in self.findings]}


# --- validators ------------------------------------------------------------------------------------
def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand_plausible(digits: str) -> bool:
    """Issuer prefix and length of the major networks (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro)."""
    n = len(digits)
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19
    if p2 == 62:
        return 16 <= n <= 19
    if p2 in (50, 56, 57, 58, 63, 67):
        return 12 <= n <= 19
    return False


def iban_valid(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def us_ssn_valid(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# --- maskers ---------------------------------------------------------------------------------------
def _mask_digits(text: str, keep_last: int) -> str:
    total = sum(ch.isdigit() for ch in text)
    seen = 0
    out = []
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep_last else "*")
        else:
            out.append(ch)
    return "".join(out)[:40]


def _mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1][:10]}"


def _mask_ip(text: str) -> str:
    if ":" in text:
        return text.split(":", 1)[0] + ":****"
    return text.split(".", 1)[0] + ".*.*.*"


# --- detectors -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Detector:
    kind: PiiKind
    prefilter: str  # RE2, vectorized over the sample: only these values reach Python
    pattern: re.Pattern[str]
    validate: Callable[[re.Match[str]], bool]
    mask: Callable[[str], str]

    def first_match(self, value: str) -> str | None:
        for m in self.pattern.finditer(value):
            if self.validate(m):
                return m.group(0)
        return None


_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}){0,8}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}(?![\w-])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9][0-9 ().-]{6,22}[0-9](?![\w]|[.-][0-9])")
_PHONE_NANP = re.compile(
    r"(?<![\w.+/-])(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[./-]\d)", re.ASCII
)
_PHONE_NATIONAL = re.compile(
    r"(?<![\w.+/-])(?:00[1-9]\d{0,2}|0\d{1,4})(?:[ .-]\d{2,4}){2,5}(?![\w]|[./-]\d)", re.ASCII
)
_CARD = re.compile(
    r"(?<![\w.+-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5}|\d{13,19})(?![\w]|[.-]\d)",
    re.ASCII,
)
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
    r"(?![A-Za-z0-9])"
)
_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w]|-\d)", re.ASCII)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)", re.ASCII)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:.])"
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _phone_valid(m: re.Match[str]) -> bool:
    text = m.group(0)
    digits = _digits(text)
    if text.startswith("+"):
        return 8 <= len(digits) <= 15 and "((" not in text and not re.search(r"[ .-]{2}", text)
    if m.re is _PHONE_NANP:
        return True
    separators = {ch for ch in text if ch in " .-"}
    low = 11 if text.startswith("00") else 10
    return len(separators) == 1 and low <= len(digits) <= 15


def _card_grouped_valid(m: re.Match[str]) -> bool:
    text = m.group(0)
    if text.isdigit():
        return False  # unseparated numbers are judged per column (see PLAIN_CARD_LUHN_SHARE)
    digits = _digits(text)
    return 13 <= len(digits) <= 19 and card_brand_plausible(digits) and luhn_valid(digits)


def _ipv4_valid(m: re.Match[str]) -> bool:
    text = m.group(0)
    octets = text.split(".")
    if all(len(o) == 1 for o in octets) or octets[0] == "0":
        return False  # version-like "1.2.3.4" and the "this network" block are not addresses
    try:
        return not ipaddress.IPv4Address(text).is_unspecified
    except ValueError:
        return False


def _ipv6_valid(m: re.Match[str]) -> bool:
    text = m.group(0)
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return not address.is_unspecified and text.count(":") >= 2


_DECIMAL_NUMBER = re.compile(r"[+-]?(?:\d*\.\d+|\d+\.)(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+", re.ASCII)
_PHONE_PATTERNS = (_PHONE_INTL, _PHONE_NANP, _PHONE_NATIONAL)


def _blank(m: re.Match[str]) -> str:
    return "#" * len(m.group(0))


class _PhoneDetector(_Detector):
    """Phones are judged after card-, IBAN- and SSN-shaped spans are blanked out: their digit groups
    would otherwise read as phone numbers too."""

    def first_match(self, value: str) -> str | None:
        if _DECIMAL_NUMBER.fullmatch(value.strip()):
            return None  # "+12345678.5" in a numeric column is a number, not a phone
        for shape in (_IBAN, _CARD, _SSN):
            value = shape.sub(_blank, value)
        for pattern in _PHONE_PATTERNS:
            for m in pattern.finditer(value):
                if _phone_valid(m):
                    return m.group(0)
        return None


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(
        "email",
        r"@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]",
        _EMAIL,
        lambda m: ".." not in m.group(0).split("@")[0],
        _mask_email,
    ),
    _Detector(
        "credit_card",
        r"\d{4}[ -]\d{4}[ -]\d{4}|\d{4}[ -]\d{6}[ -]\d{4}",
        _CARD,
        _card_grouped_valid,
        lambda t: _mask_digits(t, 4),
    ),
    _Detector(
        "iban",
        r"[A-Z]{2}\d{2}[ ]?[A-Z0-9]{4}",
        _IBAN,
        lambda m: iban_valid(m.group(0).replace(" ", "")),
        lambda t: (t[:2] + re.sub(r"[A-Z0-9]", "*", t[2:-2]) + t[-2:])[:40],
    ),
    _Detector(
        "us_ssn",
        r"\d{3}-\d{2}-\d{4}",
        _SSN,
        lambda m: us_ssn_valid(m.group(1), m.group(2), m.group(3)),
        lambda _t: "***-**-****",
    ),
    _PhoneDetector(
        "phone",
        r"\+[1-9]|\d{3}\)?[ .-]\d{3}[ .-]\d{4}|0\d{1,4}[ .-]\d{2,4}[ .-]\d{2,4}",
        _PHONE_INTL,
        _phone_valid,
        lambda t: _mask_digits(t, 2),
    ),
    _Detector("ip_address", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", _IPV4, _ipv4_valid, _mask_ip),
    _Detector(
        "ip_address", r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}", _IPV6, _ipv6_valid, _mask_ip
    ),
)


# --- describing a value without showing it -------------------------------------------------------
_KIND_LABELS: dict[str, str] = {
    "email": "email address",
    "credit_card": "card number",
    "iban": "IBAN",
    "us_ssn": "US SSN",
    "phone": "phone number",
    "ip_address": "IP address",
}
#: Placeholders exporters write for "no value": safe to quote, and the most useful hint in a message.
PLACEHOLDER_TOKENS = frozenset(
    {
        "",
        "-",
        "--",
        "?",
        "n/a",
        "na",
        "#n/a",
        "nan",
        "null",
        "none",
        "nil",
        "missing",
        "unknown",
        "undefined",
        "inf",
        "-inf",
        "+inf",
        "infinity",
        "-infinity",
        "true",
        "false",
        "yes",
        "no",
        "#value!",
        "#div/0!",
        "#ref!",
        "#name?",
        "#num!",
        ".",
    }
)


def personal_kind(value: str) -> str | None:
    """The PII kind a single value matches ("email", "credit_card", ...), else None."""
    text = value[:MAX_VALUE_CHARS]
    for detector in _DETECTORS:
        if re.search(detector.prefilter, text) and detector.first_match(text) is not None:
            return detector.kind
    digits = text.strip()
    if 13 <= len(digits) <= 19 and digits.isdigit() and card_brand_plausible(digits) and luhn_valid(digits):
        return "credit_card"
    return None


def mask_value(value: str) -> str:
    """``value`` itself, unless it looks like personal data: then its kind, e.g. "<email address>"."""
    kind = personal_kind(value)
    return value if kind is None else f"<{_KIND_LABELS[kind]}>"


def describe_value(value: str) -> str:
    """What a value looks like, never the value (except known placeholders such as 'n/a'): for
    messages about values that are not what the spec says ("<email address>", "<text of 7
    characters: letters, digits>"). Values reach messages, logs and immutable audit records only
    this way."""
    stripped = value.strip()
    if stripped.lower() in PLACEHOLDER_TOKENS:
        return ascii(stripped)
    kind = personal_kind(value)
    if kind is not None:
        return f"<{_KIND_LABELS[kind]}>"
    classes = [
        label
        for label, present in (
            ("letters", any(ch.isalpha() for ch in stripped)),
            ("digits", any(ch.isdigit() for ch in stripped)),
            ("spaces", any(ch.isspace() for ch in stripped)),
            ("symbols", any(not (ch.isalnum() or ch.isspace()) for ch in stripped)),
        )
        if present
    ]
    n = len(value)
    return f"<text of {n} character{'s' if n != 1 else ''}: {', '.join(classes) or 'blank'}>"


def describe_values(values: Sequence[str], shown: int = 3) -> str:
    """Several values described by :func:`describe_value`, most frequent shapes first, with counts:
    "2 values like <email address>, 1 value like 'n/a'"."""
    counts: dict[str, int] = {}
    for v in values:
        d = describe_value(v)
        counts[d] = counts.get(d, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])[:shown]
    return ", ".join(f"{n} value{'s' if n != 1 else ''} like {d}" for d, n in ordered)


# --- column names ----------------------------------------------------------------------------------
def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    tokens = [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]
    while len(tokens) > 1 and (tokens[-1] in _NAME_SUFFIXES_IGNORED or tokens[-1].isdigit()):
        tokens.pop()
    return tokens


def name_hint(name: str) -> str | None:
    """The hint a column name gives ('email', 'firstname', ...), judged on its last word(s) so that
    'customer_email' is hinted and 'email_opens' or 'product_name' are not."""
    tokens = _name_tokens(name)
    for n in (4, 3, 2, 1):
        if len(tokens) >= n:
            joined = "".join(tokens[-n:])
            if joined in NAME_HINTS and (joined != "name" or len(tokens) == 1):
                return joined
    return None


# --- scanning --------------------------------------------------------------------------------------
def sample_indices(rows: int, sample_rows: int) -> np.ndarray | None:
    """Deterministic sample: the first half of the budget, then evenly spaced rows (None = all rows)."""
    if rows <= sample_rows:
        return None
    head = sample_rows // 2
    spread = np.linspace(head, rows - 1, sample_rows - head).round().astype(np.int64)
    return np.unique(np.concatenate([np.arange(head, dtype=np.int64), spread]))


def _min_matches(non_null: int) -> int:
    return min(MAX_MIN_MATCHES, max(1, math.ceil(MIN_SHARE * non_null)))


def _plain_card_hits(values: list[str]) -> tuple[int, str | None]:
    plausible = [v for v in values if 13 <= len(v) <= 19 and v.isdigit() and card_brand_plausible(v)]
    valid = [v for v in plausible if luhn_valid(v)]
    if not valid or len(valid) < PLAIN_CARD_LUHN_SHARE * len(plausible):
        return 0, None
    return len(valid), _mask_digits(valid[0], 4)


def _scan_text(name: str, column: pa.ChunkedArray, findings: list[PiiFinding]) -> None:
    text = pc.drop_null(pc.utf8_slice_codeunits(as_strings(column), 0, MAX_VALUE_CHARS))
    text = pc.filter(text, pc.not_equal(pc.utf8_trim_whitespace(text), string_scalar("")))
    non_null = len(text)
    if non_null == 0:
        return
    threshold = _min_matches(non_null)
    hits: dict[PiiKind, tuple[int, str]] = {}
    for detector in _DETECTORS:
        mask = pc.match_substring_regex(text, detector.prefilter)
        if not pc.any(mask).as_py():
            continue
        count, example = hits.get(detector.kind, (0, ""))
        for value in pc.filter(text, mask).to_pylist():
            found = detector.first_match(value)
            if found is not None:
                count += 1
                example = example or detector.mask(found)
        hits[detector.kind] = (count, example)
    plain = pc.filter(text, pc.match_substring_regex(text, r"^\s*\d{13,19}\s*$"))
    if len(plain):
        plain_count, plain_example = _plain_card_hits([v.strip() for v in plain.to_pylist()])
        if plain_count:
            old_count, old_example = hits.get("credit_card", (0, ""))
            hits["credit_card"] = (old_count + plain_count, old_example or plain_example or "")
    for kind, (count, example) in hits.items():
        if count >= threshold:
            findings.append(PiiFinding(name, kind, count, round(count / non_null, 6), example))


def _scan_integers(
    name: str, column: pa.ChunkedArray, findings: list[PiiFinding], non_null: int | None = None
) -> None:
    """Integer columns hold no separators, so only unseparated card numbers can hide in them."""
    values = pc.drop_null(column)
    non_null = len(values) if non_null is None else non_null
    if non_null == 0:
        return
    candidates = pc.filter(
        values, pc.greater_equal(values.cast(pa.float64(), safe=False), float_scalar(1e12))
    )
    count, example = _plain_card_hits([str(v) for v in candidates.to_pylist()])
    if count and count >= _min_matches(non_null):
        findings.append(PiiFinding(name, "credit_card", count, round(count / non_null, 6), example or ""))


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_text(t.value_type)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _integral_floats(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The integral values of a float column as int64 (a card number read as a float)."""
    column = column.cast(pa.float64())  # float16/float32 too
    column = pc.if_else(pc.is_finite(column), column, null_scalar(column.type))
    big = pc.and_(
        pc.greater_equal(pc.abs(column), float_scalar(1e12)), pc.less(pc.abs(column), float_scalar(9e18))
    )
    integral = pc.and_(big, pc.equal(pc.floor(column), column))
    return pc.if_else(integral, column, null_scalar(column.type)).cast(pa.int64(), safe=False)


def _is_raw_text(t: pa.DataType) -> bool:
    """Types whose values can hold text: strings, bytes, nested values (scanned as their text)."""
    if pa.types.is_dictionary(t):
        return _is_raw_text(t.value_type)
    return (
        _is_text(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_nested(t)
    )


def scan_table(
    table: pa.Table,
    *,
    allow_columns: Sequence[str] = (),
    sample_rows: int = 20_000,
    columns: Sequence[str] | None = None,
) -> PiiReport:
    """Scan a deterministic sample of at most ``sample_rows`` rows; ``allow_columns`` are skipped,
    and only ``columns`` are scanned when given.

    Every column is scanned whatever its type: text, bytes and nested values as their text, integer
    columns (and the integral values of float columns) for card numbers. Scan the table as read,
    before any type conversion: a numeric column holding emails is text until the contract nulls
    them, and the screen must see them."""
    allowed = set(allow_columns)
    wanted = None if columns is None else set(columns)
    positions = [
        i
        for i, f in enumerate(table.schema)
        if f.name not in allowed and (wanted is None or f.name in wanted)
    ]
    indices = sample_indices(table.num_rows, max(sample_rows, 1))
    findings: list[PiiFinding] = []
    for i in positions:
        field = table.schema.field(i)
        hint = name_hint(field.name)
        if hint:
            findings.append(PiiFinding(field.name, "name_hint", 0, 0.0, ""))
        column = table.column(i)
        scan_text, scan_ints = _is_raw_text(field.type), pa.types.is_integer(field.type)
        scan_floats = pa.types.is_floating(field.type)
        if not (scan_text or scan_ints or scan_floats):
            continue  # booleans, dates, timestamps, decimals: no text to hide personal data in
        if indices is not None:
            column = column.take(int64_array(indices))
        if scan_text:
            _scan_text(field.name, column, findings)
        elif scan_ints:
            _scan_integers(field.name, column, findings)
        else:
            column = column.cast(pa.float64())
            present = len(column) - int(pc.sum(pc.is_nan(column)).as_py() or 0) - column.null_count
            _scan_integers(field.name, _integral_floats(column), findings, present)
    rows_scanned = table.num_rows if indices is None else len(indices)
    return PiiReport(findings=findings, rows_scanned=rows_scanned)


# --- policy ----------------------------------------------------------------------------------------
def _hmac_hex(values: pa.ChunkedArray, salt: bytes) -> pa.Array:
    """Keyed SHA-256 (HMAC) per distinct value: equal inputs hash equal (joins still work), and
    without the salt nobody can confirm a guessed value."""
    encoded = values.combine_chunks().dictionary_encode()
    base = hmac.new(salt, digestmod=hashlib.sha256)
    digests = []
    for value in encoded.dictionary.to_pylist():
        h = base.copy()
        h.update(value.encode("utf-8"))
        digests.append(h.hexdigest())
    return pc.take(string_array(digests), encoded.indices)


def apply_pii_policy(
    table: pa.Table, report: PiiReport, action: Literal["redact", "hash"], *, salt: bytes
) -> pa.Table:
    """Replace every value of every reported column (nulls stay null): ``redact`` writes
    "[REDACTED]", ``hash`` a salted HMAC-SHA256 hex digest. Other columns are untouched."""
    if action not in ("redact", "hash"):
        raise ValueError(f"PII action must be 'redact' or 'hash', not {action!r}")
    if action == "hash" and not salt:
        raise ValueError("PII hashing needs a non-empty secret salt (use at least 32 random bytes)")
    targets = set(report.columns)
    for i, field in enumerate(table.schema):
        if field.name not in targets:
            continue
        text = as_strings(table.column(i))
        if action == "redact":
            replaced: Any = pc.if_else(pc.is_valid(text), string_scalar(REDACTED), null_scalar(pa.string()))
        else:
            replaced = _hmac_hex(text, salt)
        table = table.set_column(i, pa.field(field.name, pa.string()), replaced)
    return table
