"""The data contract per role: required columns, coercion to contract types, and findings."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.domain.arrow_values import as_strings, string_array
from modelsteward.domain.contract import (
    MAX_INVALID_SHARE,
    ConformedBatch,
    ContractFinding,
    conform,
    example_text,
)
from modelsteward.domain.ingest import read_table
from modelsteward.errors import BatchRejected
from modelsteward.spec import ModelSpec, parse_spec

UTC = dt.UTC


def make_spec(**overrides: object) -> ModelSpec:
    base: dict[str, object] = {
        "name": "credit",
        "task": "binary",
        "target": "default",
        "features": {"numeric": ["age", "income"], "categorical": ["region"]},
        "classes": ["0", "1"],
        "probability_column": "proba",
    }
    base.update(overrides)
    return parse_spec(base)


SPEC = make_spec()
REGRESSION = make_spec(task="regression", primary_metric="rmse", classes=None, probability_column=None)


def csv(text: str) -> pa.Table:
    return read_table(text.encode(), "batch.csv")


def findings_by_check(batch: ConformedBatch) -> dict[str, list[ContractFinding]]:
    out: dict[str, list[ContractFinding]] = {}
    for f in batch.findings:
        out.setdefault(f.check, []).append(f)
    return out


INFERENCE = "id,timestamp,age,income,region,prediction,proba\n"


# --- required columns per role ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "header", "missing"),
    [
        ("inference", "id,age,income,region", ["prediction"]),
        ("inference", "age,income,region,prediction", ["id"]),
        ("scoring", "age,income,region", ["id"]),
        ("scoring", "id,age,region", ["income"]),
        ("training", "age,income,region", ["default"]),
        ("reference", "id,age,income", ["region"]),
        ("labels", "id,outcome", ["default", "label"]),
        ("labels", "default,age", ["id"]),
    ],
)
def test_missing_required_columns_are_named(role: str, header: str, missing: list[str]) -> None:
    row = ",".join("1" for _ in header.split(","))
    with pytest.raises(BatchRejected) as info:
        conform(csv(f"{header}\n{row}\n"), SPEC, role=role)  # type: ignore[arg-type]
    assert info.value.code == "missing_columns"
    for name in missing:
        assert repr(name) in info.value.message


@pytest.mark.parametrize(
    ("role", "header"),
    [
        ("inference", "id,age,income,region,prediction"),
        ("scoring", "id,age,income,region"),
        ("training", "age,income,region,default"),
        ("reference", "age,income,region"),
        ("labels", "id,default"),
        ("labels", "id,label"),
    ],
)
def test_each_role_accepts_its_minimum(role: str, header: str) -> None:
    row = ",".join("1" for _ in header.split(","))
    batch = conform(csv(f"{header}\n{row}\n"), SPEC, role=role)  # type: ignore[arg-type]
    assert batch.rows == 1 and not batch.errors


def test_case_only_mismatch_gets_a_hint() -> None:
    with pytest.raises(BatchRejected) as info:
        conform(csv("ID,default\n1,1\n"), SPEC, role="labels")
    assert "found 'ID'" in info.value.message


def test_labels_alias_column_is_renamed_to_the_target() -> None:
    batch = conform(csv("id,label\n1,1\n2,0\n"), SPEC, role="labels")
    assert batch.table.column_names == ["id", "default"]
    assert batch.table.column("default").to_pylist() == ["1", "0"]


def test_extra_columns_are_dropped_with_a_warning() -> None:
    batch = conform(
        csv("id,age,income,region,prediction,notes,debug\n1,1,2,a,1,x,y\n"), SPEC, role="inference"
    )
    assert batch.extra_columns == ["notes", "debug"]
    assert "notes" not in batch.table.column_names
    (finding,) = findings_by_check(batch)["extra_columns"]
    assert finding.severity == "warning" and finding.count == 2


def test_the_suite_scorers_own_columns_are_not_extra_columns() -> None:
    # score_batch adds who scored each row to the inference copy: no warning on every scored batch
    scored = "id,age,income,region,prediction,model_version,variant\n1,1,2,a,1,3,champion\n"
    batch = conform(csv(scored), SPEC, role="inference")
    assert "extra_columns" not in findings_by_check(batch)  # dropped, kept for who-scored, not warned
    assert batch.extra_columns == ["model_version", "variant"]
    assert "model_version" not in batch.table.column_names
    noted = scored.replace("variant\n", "variant,notes\n").replace("champion", "champion,x")
    with_notes = conform(csv(noted), SPEC, role="inference")
    (finding,) = findings_by_check(with_notes)["extra_columns"]
    assert finding.count == 1 and "'notes'" in finding.message and "variant" not in finding.message
    # in data the spec is trained on, a column named model_version is the owner's, and is reported
    ref = conform(csv("id,age,income,region,default,model_version\n1,1,2,a,1,3\n"), SPEC, role="training")
    assert ref.extra_columns == ["model_version"]


def test_missing_timestamp_is_a_warning_for_inference_only() -> None:
    batch = conform(csv("id,age,income,region,prediction\n1,1,2,a,1\n"), SPEC, role="inference")
    assert findings_by_check(batch)["missing_timestamp"][0].severity == "warning"
    batch = conform(csv("age,income,region\n1,2,a\n"), SPEC, role="reference")
    assert "missing_timestamp" not in findings_by_check(batch)


# --- output shape and types ------------------------------------------------------------------------
def test_inference_batch_is_typed_and_ordered() -> None:
    batch = conform(
        csv(INFERENCE + "7,2024-01-02T03:04:05Z,41,1000.5,north,1,0.8\n8,2024-01-02,,NaN,,0,\n"),
        SPEC,
        role="inference",
    )
    assert batch.table.schema == pa.schema(
        [
            ("id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("age", pa.float64()),
            ("income", pa.float64()),
            ("region", pa.string()),
            ("prediction", pa.string()),
            ("proba", pa.float64()),
        ]
    )
    rows = batch.table.to_pylist()
    assert rows[0]["timestamp"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert rows[0]["income"] == 1000.5 and rows[0]["region"] == "north"
    assert rows[1]["age"] is None and rows[1]["income"] is None and rows[1]["region"] is None
    assert batch.findings == []


def test_regression_prediction_and_target_are_numbers() -> None:
    batch = conform(csv("age,income,region,prediction,default\n1,2,a,3.5,4\n"), REGRESSION, role="reference")
    assert batch.table.schema.field("prediction").type == pa.float64()
    assert batch.table.column("default").to_pylist() == [4.0]


def test_class_labels_are_normalised_text_across_formats() -> None:
    from_csv = conform(csv("id,default\n1,1.0\n2, 0 \n"), SPEC, role="labels")
    from_json = conform(
        read_table(b'{"id": 1, "default": 1}\n{"id": 2, "default": 0.0}\n', "l.jsonl"), SPEC, role="labels"
    )
    assert from_csv.table.column("default").to_pylist() == ["1", "0"]
    assert from_json.table.column("default").to_pylist() == ["1", "0"]
    assert from_json.table.column("id").to_pylist() == ["1", "2"]


def test_unknown_classes_are_a_warning() -> None:
    batch = conform(csv("id,default\n1,1\n2,yes\n3,2\n"), SPEC, role="labels")
    (finding,) = findings_by_check(batch)["unknown_class"]
    assert finding.count == 2 and finding.severity == "warning" and "'yes'" in finding.message


def test_booleans_in_numeric_columns_become_0_and_1() -> None:
    batch = conform(csv("age,income,region\ntrue,False,a\nfalse,TRUE,b\n"), SPEC, role="reference")
    assert batch.table.column("age").to_pylist() == [1.0, 0.0]
    assert batch.table.column("income").to_pylist() == [0.0, 1.0]
    typed = pa.table({"age": [True, False], "income": [1, 2], "region": ["a", "b"]})
    assert conform(typed, SPEC, role="reference").table.column("age").to_pylist() == [1.0, 0.0]


def test_integers_beyond_float_precision_are_rounded_not_refused() -> None:
    table = pa.table(
        {
            "age": pa.array([2**53 + 1, -(2**63)], pa.int64()),
            "income": pa.array([2**64 - 1, 0], pa.uint64()),
            "region": ["a", "b"],
            "timestamp": pa.array([2**63 - 1, 1_700_000_000], pa.int64()),
        }
    )
    batch = conform(table, SPEC, role="reference")
    assert batch.table.column("age").to_pylist() == [float(2**53), -(2.0**63)]
    assert batch.table.column("income").to_pylist() == [2.0**64, 0.0]
    assert batch.table.column("timestamp").to_pylist()[1] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_decimal_commas_from_semicolon_csv_are_parsed() -> None:
    batch = conform(read_table(b"age;income;region\n1,5;2,25;a\n", "eu.csv"), SPEC, role="reference")
    assert batch.table.column("age").to_pylist() == [1.5]
    assert batch.table.column("income").to_pylist() == [2.25]


def test_categoricals_of_any_type_become_text() -> None:
    table = pa.table(
        {
            "age": [1.0, 2.0],
            "income": [1, 2],
            "region": pa.array(["north", "south"]).dictionary_encode(),
        }
    )
    assert conform(table, SPEC, role="reference").table.column("region").to_pylist() == ["north", "south"]
    for values, expected in [
        (pa.array([7, None]), ["7", None]),
        (pa.array([1.5, float("nan")]), ["1.5", None]),
        (pa.array([True, False]), ["true", "false"]),
        (pa.array([{"k": 1}, None]), ['{"k": 1}', None]),
        (pa.array([b"ab", b"\xff"]), ["ab", "\ufffd"]),
    ]:
        assert as_strings(values).to_pylist() == expected


def test_parquet_types_are_coerced() -> None:
    source = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "timestamp": pa.array([dt.datetime(2024, 1, 1, 12)] * 2, pa.timestamp("ns", tz="Europe/Berlin")),
            "age": pa.array([30, None], pa.int32()),
            "income": pa.array([1.5, 2.5], pa.float32()),
            "region": pa.array(["a", "b"]).dictionary_encode(),
            "prediction": pa.array([1, 0], pa.int8()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(source, sink)
    batch = conform(read_table(sink.getvalue(), "b.parquet"), SPEC, role="inference")
    assert batch.table.column("id").to_pylist() == ["1", "2"]
    assert batch.table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert batch.table.column("age").to_pylist() == [30.0, None]
    assert batch.table.column("prediction").to_pylist() == ["1", "0"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00+02:00", dt.datetime(2024, 3, 1, 8, tzinfo=UTC)),
        ("2024-03-01 10:00:00.250", dt.datetime(2024, 3, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-03-01", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        ("1709287200", dt.datetime(2024, 3, 1, 10, tzinfo=UTC)),  # epoch seconds
        ("1709287200000", dt.datetime(2024, 3, 1, 10, tzinfo=UTC)),  # epoch milliseconds
    ],
)
def test_timestamps_are_parsed_to_utc(value: str, expected: dt.datetime) -> None:
    batch = conform(
        csv(f"id,timestamp,age,income,region,prediction\n1,{value},1,2,a,1\n"), SPEC, role="inference"
    )
    assert batch.table.column("timestamp").to_pylist() == [expected]


def test_unparsable_timestamps_are_an_error_finding_not_a_rejection() -> None:
    batch = conform(
        csv("id,timestamp,age,income,region,prediction\n1,yesterday,1,2,a,1\n2,2024-13-01,1,2,a,1\n"),
        SPEC,
        role="inference",
    )
    (finding,) = findings_by_check(batch)["type_mismatch"]
    assert finding.column == "timestamp" and finding.count == 2
    assert batch.table.column("timestamp").null_count == 2


# --- invalid values --------------------------------------------------------------------------------
def many_rows(bad: int, total: int = 200, value: str = "abc") -> pa.Table:
    lines = [f"{i},{value if i < bad else i},1,a\n" for i in range(total)]
    return csv("id,age,income,region\n" + "".join(lines))


def test_a_few_unparsable_numbers_are_nulled_and_counted() -> None:
    batch = conform(many_rows(bad=2), SPEC, role="reference")  # 1% of 200
    (finding,) = findings_by_check(batch)["type_mismatch"]
    assert finding.column == "age" and finding.count == 2 and finding.severity == "error"
    assert "2 values like <text of 3 characters: letters>" in finding.message
    assert "abc" not in finding.message  # offending values are described, never quoted
    assert batch.table.column("age").null_count == 2


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        ("jane.doe@example.org", "<email address>"),
        ("4111 1111 1111 1111", "<card number>"),
        ("4111111111111111x", "<text of 17 characters: letters, digits>"),
        ("123-45-6789", "<US SSN>"),
        ("unknown", "'unknown'"),
    ],
)
def test_type_mismatch_examples_name_the_shape_never_the_value(planted: str, kind: str) -> None:
    batch = conform(many_rows(bad=1, value=planted), SPEC, role="reference")
    (finding,) = findings_by_check(batch)["type_mismatch"]
    assert f"1 value like {kind}" in finding.message
    if planted != "unknown":
        assert planted not in finding.message and planted[:6] not in finding.message
    with pytest.raises(BatchRejected) as info:  # above 1%: the rejection does not quote them either
        conform(many_rows(bad=50, value=planted), SPEC, role="reference")
    assert "50 values like" in info.value.message
    if planted != "unknown":
        assert planted not in info.value.message


def test_timestamp_and_prediction_examples_are_masked() -> None:
    rows = "".join(f"{i},jane{i}@example.org,1,2,a,maybe{i}@example.org\n" for i in range(3))
    batch = conform(csv("id,ts,age,income,region,prediction\n" + rows), SPEC, role="inference")
    messages = " ".join(f.message for f in batch.findings)
    assert "@example.org" not in messages and "jane" not in messages and "maybe" not in messages
    assert "3 values like <email address>" in messages


def test_more_than_one_percent_unparsable_rejects_the_batch() -> None:
    assert int(MAX_INVALID_SHARE * 200) == 2
    with pytest.raises(BatchRejected) as info:
        conform(many_rows(bad=3), SPEC, role="reference")
    assert info.value.code == "type_mismatch" and "'age'" in info.value.message


def test_entirely_unparsable_required_column_rejects() -> None:
    with pytest.raises(BatchRejected) as info:
        conform(csv("age,income,region\nx,1,a\ny,2,b\n"), SPEC, role="reference")
    assert "2 of 2" in info.value.message


def test_unparsable_optional_column_is_only_a_finding() -> None:
    batch = conform(csv("age,income,region,prediction\n1,2,a,high\n"), REGRESSION, role="reference")
    (finding,) = findings_by_check(batch)["type_mismatch"]
    assert finding.column == "prediction"


def test_infinity_is_invalid_and_nan_is_missing() -> None:
    lines = "".join(
        f"{i},{'inf' if i == 0 else '-Infinity' if i == 1 else 'NaN' if i == 2 else i},1,a\n"
        for i in range(300)
    )
    batch = conform(csv("id,age,income,region\n" + lines), SPEC, role="reference")
    (finding,) = findings_by_check(batch)["non_finite"]
    assert finding.count == 2
    assert batch.table.column("age").null_count == 3
    with pytest.raises(BatchRejected):
        conform(csv("age,income,region\ninf,1,a\n1,1,a\n"), SPEC, role="reference")


def test_nested_values_in_numeric_columns_are_unparsable() -> None:
    table = pa.table({"age": pa.array([[1], [2]]), "income": [1, 2], "region": ["a", "b"]})
    with pytest.raises(BatchRejected) as info:
        conform(table, SPEC, role="reference")
    assert info.value.code == "type_mismatch"


def test_examples_are_escaped_and_truncated() -> None:
    assert example_text('=HYPERLINK("x")\x1b[31m') == "'=HYPERLINK(\"x\")\\x1b[31m'"
    assert example_text("<script>alert(1)</script>" * 3).endswith("…")
    confusable = "\u0440\u0430\u0443\u0440\u0430l"  # Cyrillic letters that look like "paypal"
    assert example_text(confusable) == "'\\u0440\\u0430\\u0443\\u0440\\u0430l'"


def test_probabilities_outside_0_1_are_an_error_finding() -> None:
    batch = conform(
        csv(INFERENCE + "1,,1,2,a,1,1.5\n2,,1,2,a,0,-0.1\n3,,1,2,a,0,0.5\n"), SPEC, role="inference"
    )
    assert findings_by_check(batch)["probability_out_of_range"][0].count == 2


def test_per_class_probability_columns_are_kept() -> None:
    spec = make_spec(task="multiclass", classes=["a", "b"], primary_metric="accuracy")
    batch = conform(
        csv("id,age,income,region,prediction,proba_a,proba_b\n1,1,2,x,a,0.3,0.7\n"), spec, role="inference"
    )
    assert batch.table.column_names[-2:] == ["proba_a", "proba_b"]
    assert not batch.extra_columns


# --- ids and targets -------------------------------------------------------------------------------
def test_null_ids_are_an_error_and_duplicates_a_warning() -> None:
    batch = conform(csv("id,age,income,region\n1,1,2,a\n,1,2,a\n1,1,2,a\n1,1,2,a\n"), SPEC, role="scoring")
    checks = findings_by_check(batch)
    assert checks["null_ids"][0].count == 1 and checks["null_ids"][0].severity == "error"
    assert checks["duplicate_ids"][0].count == 2 and checks["duplicate_ids"][0].severity == "warning"


def test_missing_targets_in_training_are_a_warning() -> None:
    batch = conform(csv("age,income,region,default\n1,2,a,1\n1,2,a,\n"), SPEC, role="training")
    assert findings_by_check(batch)["null_target"][0].count == 1


def test_high_cardinality_categoricals_stay_vectorized() -> None:
    n = 200_000
    region = string_array([f"r{i}" for i in range(n)])
    table = pa.table({"age": pa.nulls(n, pa.float64()), "income": pa.nulls(n, pa.int64()), "region": region})
    batch = conform(table, SPEC, role="reference")
    assert batch.rows == n and batch.table.column("region").type == pa.string()
