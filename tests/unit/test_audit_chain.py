"""The audit chain: canonical encoding, and tamper detection that names the first bad record."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsteward.domain.audit_chain import (
    GENESIS_HASH,
    AuditRecord,
    build_record,
    canonical_bytes,
    chain_records,
    compare_with_export,
    compute_hash,
    normalize,
    verify_chain,
)


def _chain(n: int = 6) -> list[AuditRecord]:
    events = [
        {
            "action": "batch.accepted",
            "actor": "monitor_batch",
            "model": "credit",
            "reason": f"batch {i}",
            "inputs": [
                {"uri": f"s3://data/inference/credit/b{i}.csv", "version_id": f"v{i}", "sha256": "ab" * 32}
            ],
            "details": {"rows": 100 + i, "drift_share": 0.1 * i},
        }
        for i in range(n)
    ]
    return chain_records(events)


def _dicts(records: list[AuditRecord]) -> list[dict[str, Any]]:
    return [r.body() for r in records]


def _rehash_from(records: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """What an attacker with write access does: recompute every hash from index ``start`` on."""
    out = [dict(r) for r in records]
    for i in range(start, len(out)):
        out[i]["prev_hash"] = out[i - 1]["hash"] if i else GENESIS_HASH
        out[i]["hash"] = compute_hash(out[i]["prev_hash"], out[i])
    return out


def test_an_untouched_chain_verifies_and_reports_its_head() -> None:
    records = _chain()
    result = verify_chain(records)
    assert result.ok and result.kind is None
    assert result.count == 6 and result.head_seq == 6 and result.head_hash == records[-1].hash
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))


def test_empty_chain_verifies() -> None:
    assert verify_chain([]).ok


def test_altering_a_field_names_that_record() -> None:
    records = _dicts(_chain())
    records[2]["reason"] = "nothing to see"
    result = verify_chain(records)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 3, "altered")


def test_altering_a_nested_detail_names_that_record() -> None:
    records = _dicts(_chain())
    records[4]["details"]["rows"] = 1
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (5, "altered")


def test_altering_and_recomputing_its_own_hash_is_caught_by_the_next_link() -> None:
    records = _dicts(_chain())
    records[1]["actor"] = "cli:mallory"
    records[1]["hash"] = compute_hash(records[1]["prev_hash"], records[1])
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (2, "altered")


def test_removing_a_record_names_the_missing_seq() -> None:
    records = _dicts(_chain())
    del records[3]
    result = verify_chain(records)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 4, "removed")


def test_removing_the_first_record_is_a_removal_of_seq_1() -> None:
    records = _dicts(_chain())[1:]
    assert (verify_chain(records).first_bad_seq, verify_chain(records).kind) == (1, "removed")


def test_removing_and_renumbering_is_an_alteration() -> None:
    records = _dicts(_chain())
    del records[3]
    for r in records[3:]:
        r["seq"] -= 1
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (4, "altered")


def test_swapping_two_records_is_reported_as_reordered_at_the_first_position() -> None:
    records = _dicts(_chain())
    records[2], records[3] = records[3], records[2]
    result = verify_chain(records)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 3, "reordered")


def test_inserting_a_forged_record_is_named() -> None:
    records = _dicts(_chain())
    forged = build_record(
        {"action": "model.approved", "actor": "cli:mallory", "model": "credit", "model_version": 9},
        seq=3,
        prev_hash=records[1]["hash"],
        at="2026-01-01T00:00:02Z",
    )
    records.insert(2, forged.body())
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (3, "inserted")


def test_inserting_with_renumbering_and_rehashing_only_the_insert_is_caught() -> None:
    records = _dicts(_chain())
    forged = build_record(
        {"action": "model.approved", "actor": "cli:mallory"},
        seq=3,
        prev_hash=records[1]["hash"],
        at="2026-01-01T00:00:02Z",
    ).body()
    tail = [dict(r, seq=r["seq"] + 1) for r in records[2:]]
    records = [*records[:2], forged, *tail]
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (4, "altered")


def test_a_duplicated_record_is_named() -> None:
    records = _dicts(_chain())
    records.insert(3, dict(records[2]))
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (3, "duplicated")


def test_a_malformed_record_is_named() -> None:
    records = _dicts(_chain())
    records[1].pop("actor")
    result = verify_chain(records)
    assert (result.first_bad_seq, result.kind) == (2, "malformed")


def test_a_chain_rewritten_from_the_head_verifies_alone_but_not_against_the_export() -> None:
    export = _dicts(_chain())
    table = [dict(r) for r in export]
    table[4]["reason"] = "rewritten"
    table = _rehash_from(table, 4)
    assert verify_chain(table).ok  # an attacker recomputed every hash from seq 5 on
    comparison = compare_with_export(table, export)
    assert not comparison.ok
    assert comparison.first is not None
    assert (comparison.first.seq, comparison.first.kind) == (5, "altered_in_table")
    assert "reason" in comparison.first.message


def test_export_comparison_names_removed_and_unexported_records() -> None:
    export = _dicts(_chain())
    table = [dict(r) for r in export]
    del table[5]
    divergences = compare_with_export(table, export).divergences
    assert [(d.seq, d.kind) for d in divergences] == [(6, "removed_from_table")]
    assert [(d.seq, d.kind) for d in compare_with_export(export, export[:4]).divergences] == [
        (5, "missing_from_export"),
        (6, "missing_from_export"),
    ]
    assert compare_with_export(export, export).ok


def test_an_export_copy_that_does_not_match_its_hash_is_reported() -> None:
    export = _dicts(_chain())
    export[1]["actor"] = "x"
    divergences = compare_with_export(_dicts(_chain()), export).divergences
    assert [(d.seq, d.kind) for d in divergences] == [(2, "export_invalid")]


def test_extra_event_fields_go_to_details_and_version_is_an_alias() -> None:
    rec = build_record(
        {
            "action": "gate.decision",
            "actor": "train_model",
            "model": "m",
            "version": "3",
            "batch_id": "b-1",
            "details": {"decision": "promote"},
        },
        seq=1,
        prev_hash=GENESIS_HASH,
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert rec.model_version == 3
    assert rec.details == {"decision": "promote", "batch_id": "b-1"}
    assert rec.at == "2026-01-01T00:00:00.000000Z"


def test_oversized_details_are_replaced_by_their_digest() -> None:
    rec = build_record(
        {"action": "x", "actor": "y", "details": {"blob": "a" * 400_000}},
        seq=1,
        prev_hash=GENESIS_HASH,
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert rec.details["truncated"] is True and len(rec.details["sha256"]) == 64


def test_object_refs_with_an_as_dict_are_accepted_as_inputs() -> None:
    from modelsteward.ports import ObjectRef

    ref = ObjectRef("b", "k/x.csv", "v1", "cd" * 32, 10)
    rec = build_record(
        {"action": "x", "actor": "y", "inputs": [ref]},
        seq=1,
        prev_hash=GENESIS_HASH,
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert rec.inputs[0].uri == "s3://b/k/x.csv" and rec.inputs[0].version_id == "v1"


def test_a_bad_input_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="uri"):
        build_record(
            {"action": "x", "actor": "y", "inputs": [{"key": "k"}]},
            seq=1,
            prev_hash=GENESIS_HASH,
            at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, 1),
        (0.1, 0.1),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (-float("inf"), "-Infinity"),
        (Decimal("2.50"), 2.5),
        (Decimal("7"), 7),
        (1e300, "1e+300"),
        (True, True),
        ((1, 2), [1, 2]),
        ({3, 1}, [1, 3]),
    ],
)
def test_normalize_makes_values_dynamodb_stable(value: object, expected: object) -> None:
    assert normalize(value) == expected
    assert type(normalize(value)) is type(expected)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True, width=64),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def _through_dynamodb(value: Any) -> Any:
    """What a DynamoDB round trip does to numbers: every one comes back as a Decimal."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, dict):
        return {k: _through_dynamodb(v) for k, v in value.items()}
    return [_through_dynamodb(v) for v in value]


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonical_bytes_survive_a_dynamodb_round_trip(value: Any) -> None:
    stored = normalize({"v": value})
    assert canonical_bytes(_through_dynamodb(stored)) == canonical_bytes(stored)
    json.loads(canonical_bytes(stored))  # always valid JSON, no NaN


def test_canonical_encoding_is_sorted_compact_utf8() -> None:
    assert canonical_bytes({"b": 1, "a": "é", "c": [1.5, 2.0]}) == '{"a":"é","b":1,"c":[1.5,2]}'.encode()


def test_numpy_values_become_plain_json_numbers() -> None:
    import numpy as np

    assert normalize({"n": np.int64(5), "x": np.float32(0.5), "a": np.array([1.0, 2.5])}) == {
        "n": 5,
        "x": 0.5,
        "a": [1, 2.5],
    }
