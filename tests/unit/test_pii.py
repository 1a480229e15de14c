"""The PII scanner: true positives per kind, near misses that must stay quiet, thresholds, policy."""

from __future__ import annotations

import hashlib
import hmac
import random

import numpy as np
import pyarrow as pa
import pytest

from modelsteward.domain.pii import (
    MAX_MIN_MATCHES,
    REDACTED,
    PiiReport,
    apply_pii_policy,
    iban_valid,
    luhn_valid,
    name_hint,
    sample_indices,
    scan_table,
)

FILLER = "nothing to see here"


def kinds(values: list[str], column: str = "value") -> dict[str, int]:
    """{kind: count} for one column (column-name hints excluded)."""
    report = scan_table(pa.table({column: values}))
    return {f.kind: f.count for f in report.findings if f.kind != "name_hint"}


# --- true positives ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("john.doe@example.com", "email"),
        ("contact: Jane O'Neil <jane_o+news@mail.example.co.uk>", "email"),
        ("+1 415 555 2671", "phone"),
        ("+442079460958", "phone"),
        ("(415) 555-2671", "phone"),
        ("call 415.555.2671 after 5", "phone"),
        ("020 7946 0958", "phone"),
        ("06 12 34 56 78", "phone"),
        ("0044 20 7946 0958", "phone"),
        ("4111 1111 1111 1111", "credit_card"),
        ("5500-0000-0000-0004", "credit_card"),
        ("3782 822463 10005", "credit_card"),
        ("paid with 6011 1111 1111 1117 yesterday", "credit_card"),
        ("DE89 3704 0044 0532 0130 00", "iban"),
        ("GB82WEST12345698765432", "iban"),
        ("FR1420041010050500013M02606", "iban"),
        ("123-45-6789", "us_ssn"),
        ("ssn 078-05-1121 on file", "us_ssn"),
        ("192.168.1.20", "ip_address"),
        ("client 203.0.113.7 connected", "ip_address"),
        ("2001:db8::8a2e:370:7334", "ip_address"),
        ("fe80::1", "ip_address"),
    ],
)
def test_true_positives(value: str, kind: str) -> None:
    assert kinds([value, FILLER]).get(kind) == 1


# --- near misses ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        # emails
        "user@localhost",
        "a@b",
        "@handle",
        "name@1.2.3.4",
        "john..doe@example.com",
        # cards: invalid Luhn, wrong brand prefix, too short
        "4111 1111 1111 1112",
        "1234 5678 9012 3452",
        "4111 1111 111",
        # IBAN: checksum broken, wrong length for the country, unknown country
        "DE89 3704 0044 0532 0130 01",
        "DE89370400440532013",
        "ZZ89370400440532013000",
        # SSN: invalid areas, groups and serials
        "900-12-3456",
        "666-12-3456",
        "000-12-3456",
        "123-00-4567",
        "123-45-0000",
        # IPs: versions, out of range, times, MACs, unspecified
        "1.2.3.4",
        "v10.2.3.4",
        "10.2.3.4.5",
        "256.1.1.1",
        "01.02.03.04",
        "0.0.0.0",
        "10:30:45",
        "00:1a:2b:3c:4d:5e",
        "::",
        # phones: plain ids, dates, times, amounts, short numbers
        "4155552671",
        "2024-01-15",
        "01.02.2024",
        "15/01/2024 10:30",
        "1 000 000",
        "12 345 678 901",
        "555-1234",
        "+1.5",
        "1.5e+10",
        "+12345678.5",
        "-1.6478559392531524e+16",
    ],
)
def test_near_misses_are_not_flagged(value: str) -> None:
    assert kinds([value]) == {}


def test_ssn_shaped_values_are_not_also_phones() -> None:
    assert kinds(["123-45-6789"]) == {"us_ssn": 1}


def test_iban_digit_groups_are_not_also_phones() -> None:
    assert kinds(["DE89 3704 0044 0532 0130 00"]) == {"iban": 1}


def test_id_like_integer_columns_are_never_phones() -> None:
    rng = np.random.default_rng(7)
    for low, high in [(1_000_000, 9_999_999), (1_000_000_000, 9_999_999_999), (2_000_000_000, 2_100_000_000)]:
        ids = pa.array(rng.integers(low, high, 5_000), pa.int64())
        assert scan_table(pa.table({"customer_ref": ids})).findings == []
    as_text = pa.array([str(v) for v in rng.integers(1_000_000, 9_999_999_999, 5_000)])
    assert scan_table(pa.table({"ref": as_text})).findings == []


def test_unseparated_card_numbers_need_a_column_that_is_nearly_all_luhn_valid() -> None:
    random.seed(3)
    random_ids = [str(random.randint(4 * 10**15, 5 * 10**15 - 1)) for _ in range(2_000)]  # Visa-shaped
    assert sum(map(luhn_valid, random_ids)) > 100  # ~10% pass Luhn by chance...
    assert kinds(random_ids) == {}  # ...which is not a card column
    cards = ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117"] * 10
    assert kinds(cards) == {"credit_card": 40}
    as_ints = pa.array([int(c) for c in cards], pa.int64())
    assert scan_table(pa.table({"x": as_ints})).findings[0].kind == "credit_card"
    assert scan_table(pa.table({"x": pa.array([int(v) for v in random_ids], pa.int64())})).findings == []


def test_integer_extremes_do_not_break_the_scan() -> None:
    table = pa.table(
        {
            "a": pa.array([2**63 - 1, -(2**63), 2**53 + 1, None], pa.int64()),
            "b": pa.array([2**64 - 1, 0, 10**19, None], pa.uint64()),
        }
    )
    assert scan_table(table).findings == []


def test_validators() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("NL91ABNA0417164300") and not iban_valid("NL91ABNA0417164301")


# --- column names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("email", "email"),
        ("customerEmail", "email"),
        ("first_name", "firstname"),
        ("LastName", "lastname"),
        ("DateOfBirth", "dateofbirth"),
        ("dob", "dob"),
        ("SSN", "ssn"),
        ("phone_number", "phonenumber"),
        ("home address", "address"),
        ("client_ip", "ip"),
        ("zip_code", "zipcode"),
        ("name", "name"),
        ("email_raw", "email"),
        ("phone_2", "phone"),
    ],
)
def test_name_hints(name: str, hint: str) -> None:
    assert name_hint(name) == hint


@pytest.mark.parametrize(
    "name", ["email_opens", "product_name", "filename", "name_length", "phone_calls", "address_count", "age"]
)
def test_names_that_only_mention_pii_are_not_hints(name: str) -> None:
    assert name_hint(name) is None


def test_hinted_column_is_reported_even_when_empty() -> None:
    report = scan_table(pa.table({"first_name": ["Ann", None], "score": [1.0, 2.0]}))
    assert [(f.column, f.kind, f.count) for f in report.findings] == [("first_name", "name_hint", 0)]


# --- thresholds, sampling, allow-list ---------------------------------------------------------------
def test_small_columns_flag_on_a_single_match() -> None:
    assert kinds(["a@example.com"] + [FILLER] * 49) == {"email": 1}


def test_large_samples_need_ten_matches() -> None:
    base = [FILLER] * 20_000
    few = base[: -(MAX_MIN_MATCHES - 1)] + ["a@example.com"] * (MAX_MIN_MATCHES - 1)
    enough = base[:-MAX_MIN_MATCHES] + ["a@example.com"] * MAX_MIN_MATCHES
    assert kinds(few) == {}
    assert kinds(enough) == {"email": MAX_MIN_MATCHES}


def test_share_is_over_non_empty_values() -> None:
    (finding,) = scan_table(pa.table({"v": ["a@example.com", None, "", FILLER]})).findings
    assert finding.share == 0.5


def test_sampling_is_deterministic_and_bounded() -> None:
    idx = sample_indices(1_000_000, 20_000)
    assert idx is not None and len(idx) == 20_000 and len(np.unique(idx)) == 20_000
    assert idx[0] == 0 and idx[9_999] == 9_999 and idx[-1] == 999_999
    assert np.array_equal(idx, sample_indices(1_000_000, 20_000))  # type: ignore[arg-type]
    assert sample_indices(500, 20_000) is None


def test_large_table_is_sampled_and_late_pii_is_still_seen() -> None:
    n = 300_000
    values = [FILLER] * n
    for i in range(n // 2, n, 10):  # PII only in the second half of the batch
        values[i] = f"user{i}@example.com"
    report = scan_table(pa.table({"v": values}), sample_rows=20_000)
    assert report.rows_scanned == 20_000
    assert [f.kind for f in report.findings] == ["email"]


def test_allow_columns_are_skipped() -> None:
    table = pa.table({"email": ["a@example.com"], "other": ["b@example.com"]})
    report = scan_table(table, allow_columns=["email"])
    assert report.columns == ["other"]


def test_examples_are_masked_and_raw_values_never_returned() -> None:
    raw = {
        "e": "john.doe@example.com",
        "p": "+1 415 555 2671",
        "c": "4111 1111 1111 1111",
        "i": "DE89 3704 0044 0532 0130 00",
        "s": "123-45-6789",
        "ip": "203.0.113.7",
    }
    report = scan_table(pa.table({k: [v] for k, v in raw.items()}))
    assert len(report.findings) >= 6
    dump = repr(report) + repr(report.as_dict())
    for value in raw.values():
        assert value not in dump
    examples = {f.column: f.example for f in report.findings if f.kind != "name_hint"}
    assert examples["e"] == "j***@***.com"
    assert examples["c"].endswith("1111") and "4111" not in examples["c"]
    assert examples["s"] == "***-**-****"
    assert "6789" not in dump and "0532" not in dump


def test_non_text_columns_are_not_content_scanned() -> None:
    table = pa.table({"f": [1.5, 2.5], "b": [True, False], "t": pa.array([1, 2], pa.timestamp("s"))})
    assert scan_table(table).findings == []


# --- policy -----------------------------------------------------------------------------------------
def pii_table() -> tuple[pa.Table, PiiReport]:
    table = pa.table(
        {
            "email": ["a@example.com", None, "a@example.com", "b@example.com"],
            "card": pa.array([4111111111111111, None, 5500000000000004, 4111111111111111], pa.int64()),
            "score": [0.1, 0.2, 0.3, 0.4],
        }
    )
    report = scan_table(table)
    assert report.columns == ["email", "card"]
    return table, report


def test_redact_replaces_values_and_keeps_nulls() -> None:
    table, report = pii_table()
    out = apply_pii_policy(table, report, "redact", salt=b"")
    assert out.column("email").to_pylist() == [REDACTED, None, REDACTED, REDACTED]
    assert out.column("card").to_pylist() == [REDACTED, None, REDACTED, REDACTED]
    assert out.column("score").equals(table.column("score"))
    assert out.column_names == table.column_names


def test_hash_is_keyed_hmac_sha256_and_keeps_equality() -> None:
    table, report = pii_table()
    salt = b"s" * 32
    out = apply_pii_policy(table, report, "hash", salt=salt)
    emails = out.column("email").to_pylist()
    assert emails[0] == hmac.new(salt, b"a@example.com", hashlib.sha256).hexdigest()
    assert emails[0] == emails[2] != emails[3] and emails[1] is None
    assert (
        out.column("card").to_pylist()[0] == hmac.new(salt, b"4111111111111111", hashlib.sha256).hexdigest()
    )
    other = apply_pii_policy(table, report, "hash", salt=b"t" * 32).column("email").to_pylist()
    assert other[0] != emails[0]


def test_policy_refuses_unknown_actions_and_empty_salt() -> None:
    table, report = pii_table()
    with pytest.raises(ValueError, match="redact"):
        apply_pii_policy(table, report, "quarantine", salt=b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="salt"):
        apply_pii_policy(table, report, "hash", salt=b"")


# --- every column, whatever its type (issue 18) ------------------------------------------------------
def test_card_numbers_read_as_floats_are_found() -> None:
    cards = [4111111111111111.0, 5500000000000004.0, 340000000000009.0] * 10
    report = scan_table(pa.table({"amount": pa.array(cards + [12.5] * 10, pa.float64())}))
    assert [(f.kind, f.count) for f in report.findings] == [("credit_card", 30)]
    half = pa.table({"amount": pa.array(cards[:3] + [12.5] * 997, pa.float32())})  # 3 of 1000: below 1%
    assert scan_table(half).findings == []


def test_only_the_named_columns_are_scanned() -> None:
    table = pa.table({"kept": ["a@example.com"] * 5, "dropped": ["b@example.com"] * 5})
    assert scan_table(table, columns=["kept"]).columns == ["kept"]


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("jane.doe@example.org", "<email address>"),
        ("4111-1111-1111-1111", "<card number>"),
        ("4111111111111111", "<card number>"),
        ("078-05-1120", "<US SSN>"),
        ("+44 20 7946 0958", "<phone number>"),
        ("DE89 3704 0044 0532 0130 00", "<IBAN>"),
        ("  N/A ", "'N/A'"),
        ("abc12", "<text of 5 characters: letters, digits>"),
        ("John Smith", "<text of 10 characters: letters, spaces>"),
    ],
)
def test_a_value_is_described_never_shown(value: str, shape: str) -> None:
    from modelsteward.domain.pii import describe_value, mask_value

    assert describe_value(value) == shape
    assert mask_value(value) == (shape if shape.startswith("<") and "text of" not in shape else value)
