"""domain.capture: SageMaker data capture, ground truth and batch-transform output, decoded by the
content types the records declare and named after the spec."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from modelsteward.domain.capture import decode, for_spec, looks_like_sagemaker, variant_from_key
from modelsteward.domain.contract import conform
from modelsteward.domain.ingest import read_table
from modelsteward.errors import BatchRejected
from modelsteward.spec import ModelSpec, parse_spec


def _spec(task: str = "binary", classes: list[str] | None = None) -> ModelSpec:
    doc = {
        "name": "m",
        "task": task,
        "target": "y",
        "features": {"numeric": ["a", "b"], "categorical": ["c"]},
        "pii": {"action": "allow"},
    }
    if task != "regression":
        doc.update(probability_column="probability", classes=classes or ["0", "1"])
    else:
        doc["primary_metric"] = "rmse"
    return parse_spec(doc)


def _record(inp: str, out: str, *, ct: str = "text/csv", enc: str = "CSV", **meta: str) -> str:
    def part(data: str, mode: str) -> dict[str, Any]:
        if enc == "BASE64":
            data = base64.b64encode(data.encode()).decode()
        return {"observedContentType": ct, "mode": mode, "data": data, "encoding": enc}

    return json.dumps(
        {
            "captureData": {"endpointInput": part(inp, "INPUT"), "endpointOutput": part(out, "OUTPUT")},
            "eventMetadata": {"eventId": "e1", "inferenceTime": "2026-03-01T10:00:00Z", **meta},
            "eventVersion": "0",
        }
    )


def _lines(*records: str) -> bytes:
    return ("\n".join(records) + "\n").encode()


def test_csv_capture_is_named_after_the_spec_and_a_score_becomes_probability_and_prediction() -> None:
    table = read_table(_lines(_record("1.5,2,north", "0.8")), "ep/AllTraffic/2026/03/01/10/f.jsonl")
    named, warnings = for_spec(table, _spec())
    row = named.to_pylist()[0]
    assert warnings == []
    assert row == {
        "id": "e1",
        "timestamp": "2026-03-01T10:00:00Z",
        "a": "1.5",
        "b": "2",
        "c": "north",
        "variant": "AllTraffic",
        "probability": 0.8,
        "prediction": "1",
    }
    conformed = conform(named, _spec(), role="inference")
    assert conformed.table.column("a").to_pylist() == [1.5]


def test_inference_id_wins_over_event_id_and_base64_json_is_decoded() -> None:
    rec = _record(
        json.dumps({"a": 1, "b": 2, "c": "x"}),
        json.dumps({"predicted_label": "0", "score": 0.2}),
        ct="application/json",
        enc="BASE64",
        inferenceId="caller-7",
    )
    named, _ = for_spec(read_table(_lines(rec), "f.jsonl"), _spec())
    row = named.to_pylist()[0]
    assert row["id"] == "caller-7" and row["prediction"] == "0" and row["probability"] == 0.2
    assert "variant" not in row  # a key that does not follow the endpoint layout names no variant


def test_multiclass_scores_become_per_class_probabilities_and_the_argmax() -> None:
    spec = _spec("multiclass", ["a", "b", "c"])
    named, _ = for_spec(read_table(_lines(_record("1,2,x", "0.1,0.7,0.2")), "f.jsonl"), spec)
    row = named.to_pylist()[0]
    assert row["prediction"] == "b" and row["probability_c"] == pytest.approx(0.2)


def test_regression_output_is_the_prediction() -> None:
    named, _ = for_spec(read_table(_lines(_record("1,2,x", "12.5")), "f.jsonl"), _spec("regression"))
    assert named.to_pylist()[0]["prediction"] == "12.5"


def test_ground_truth_becomes_id_and_target() -> None:
    gt = json.dumps(
        {
            "groundTruthData": {"data": "1", "encoding": "CSV"},
            "eventMetadata": {"eventId": "e9"},
            "eventVersion": "0",
        }
    )
    named, _ = for_spec(read_table(_lines(gt), "labels.jsonl"), _spec())
    assert named.to_pylist() == [{"id": "e9", "y": "1"}]


def test_batch_transform_output_joined_with_its_input() -> None:
    line = json.dumps(
        {"id": "r1", "a": 1.0, "b": 2.0, "c": "x", "SageMakerOutput": {"predicted_label": "1", "score": 0.9}}
    )
    named, _ = for_spec(read_table(_lines(line), "input.jsonl.out"), _spec())
    row = named.to_pylist()[0]
    assert row["id"] == "r1" and row["prediction"] == "1" and row["probability"] == 0.9


def test_input_of_the_wrong_width_names_the_spec_order() -> None:
    table = read_table(_lines(_record("1,2", "0.5")), "f.jsonl")
    with pytest.raises(BatchRejected) as err:
        for_spec(table, _spec())
    assert err.value.code == "capture_shape" and "a, b, c" in err.value.message


def test_a_few_undecodable_records_are_skipped_and_reported_many_refuse_the_file() -> None:
    good = [_record("1,2,x", "0.5") for _ in range(40)]
    bad = _record("1,2,x", "0.5", enc="BASE64").replace('"data": "', '"data": "!!')
    table = decode(_lines(*good, bad), "f.jsonl", 1000)
    _, warnings = for_spec(table, _spec())
    assert table.num_rows == 40 and "1 SageMaker record(s)" in warnings[0] and "!!" not in warnings[0]
    with pytest.raises(BatchRejected) as err:
        decode(_lines(*good[:5], bad, bad), "f.jsonl", 1000)
    assert err.value.code == "capture_undecodable" and "2 of 7" in err.value.message


def test_capture_mode_input_only_and_other_json_are_told_apart() -> None:
    only_input = json.dumps(
        {
            "captureData": {"endpointInput": {"data": "1,2,x", "encoding": "CSV"}},
            "eventMetadata": {"eventId": "e"},
        }
    )
    with pytest.raises(BatchRejected) as err:
        decode(_lines(only_input), "f.jsonl", 10)
    assert "endpointOutput" in err.value.message
    assert looks_like_sagemaker(b'{"a": 1}\n') is None
    assert variant_from_key("inference/m/ep/blue/2026/01/02/03/x.jsonl") == "blue"
