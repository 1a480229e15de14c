"""score_batch end to end on moto: handler -> service -> S3/DynamoDB, with a real registry and artifacts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lambda_context import LAMBDA_CONTEXT
from narrowing import present
from quality_fixtures import (
    ARTIFACTS,
    DATA,
    MODEL,
    QualityWorld,
    Trained,
    csv_bytes,
    emf_points,
    load_handler,
    make_frame,
    read_parquet,
    world,
)

__all__ = ["world"]  # the fixture, re-exported for pytest


def _score(
    world: QualityWorld,
    frame: pd.DataFrame,
    name: str = "batch-1.csv",
    capsys: pytest.CaptureFixture[str] | None = None,
) -> dict[str, Any]:
    event = world.upload(f"scoring/{MODEL}/{name}", csv_bytes(frame.drop(columns=["default"])))
    return load_handler("score_batch")(event, LAMBDA_CONTEXT)


@pytest.fixture
def champion(world: QualityWorld) -> Trained:
    trained = world.train(1, make_frame(1200, seed=1))
    world.register(trained)
    world.serve(1)
    return trained


def test_scores_with_the_champion_and_writes_inference_and_compact_copies(
    world: QualityWorld, champion: Trained, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelsteward.domain.training import predict, prepare_features
    from modelsteward.layout import UploadKey, inference_key, predictions_index_prefix, predictions_key
    from modelsteward.spec import parse_spec

    frame = make_frame(2500, seed=2, start=10_000)
    summary = _score(world, frame)
    assert summary["ok"], summary
    result = summary["batches"][0]
    assert result["rows"] == 2500 and result["variants"] == {"champion": 2500}
    batch_id = UploadKey("scoring", MODEL, "batch-1.csv", f"scoring/{MODEL}/batch-1.csv").batch_id

    # inference rows (data bucket) carry what monitor_batch needs, predictions equal the pipeline's
    inference = read_parquet(world.get(DATA, inference_key(MODEL, batch_id)))
    assert {
        "id",
        "timestamp",
        "income",
        "debt",
        "region",
        "prediction",
        "probability",
        "model_version",
        "variant",
    } <= set(inference.columns)
    spec = parse_spec(world.spec_doc)
    expected = predict(champion.pipeline, prepare_features(frame, spec), champion.classes)
    assert expected.proba is not None
    assert list(inference["id"]) == list(frame["id"])
    assert list(inference["prediction"]) == list(expected.label)
    np.testing.assert_allclose(inference["probability"], expected.proba[:, 1])
    assert set(inference["model_version"]) == {1} and set(inference["variant"]) == {"champion"}

    # compact copy (artifacts bucket) for the label join, with segment values and its day marker
    compact = read_parquet(world.get(ARTIFACTS, predictions_key(MODEL, batch_id)))
    assert {
        "id",
        "prediction",
        "probability_no",
        "probability_yes",
        "model_version",
        "variant",
        "scored_at",
        "batch_id",
        "segment_region",
    } <= set(compact.columns)
    assert len(world.keys(ARTIFACTS, predictions_index_prefix(MODEL))) == 1

    # scoring measurements as EMF metrics with dims {model}
    points = emf_points(capsys.readouterr().out)
    by_name = {name: value for name, value, dims in points if dims == {"model": MODEL}}
    for name in (
        "ScoringRows",
        "ScoringThroughput",
        "ScoringLatencyP50",
        "ScoringLatencyP95",
        "ScoringBatchLatency",
        "ModelLoadTime",
        "ColdStart",
        "CpuTime",
        "ScoringPeakMemory",
    ):
        assert name in by_name, name
    assert by_name["ScoringRows"] == 2500
    assert 0 < by_name["ScoringLatencyP50"] <= by_name["ScoringLatencyP95"]
    assert by_name["ScoringThroughput"] > 0 and by_name["ScoringPeakMemory"] > 10
    # the label-free estimate of the champion (estimation.json stored with the version)
    assert 0.5 < by_name["EstimatedPrimaryMetric"] <= 1.0
    assert "EstimatedPrimaryMetricDrop" in by_name and "Estimated_accuracy" in by_name

    scored = world.audit("batch.scored")
    assert len(scored) == 1 and scored[0]["model_version"] == 1
    assert {p["uri"] for p in scored[0]["outputs"]} >= {f"s3://{DATA}/{inference_key(MODEL, batch_id)}"}
    assert scored[0]["details"]["performance"]["rows"] == 2500


def test_estimate_tracks_a_covariate_shift(world: QualityWorld, champion: Trained) -> None:
    calm = _score(world, make_frame(3000, seed=3, start=20_000), "calm.csv")["batches"][0]
    shifted = _score(world, make_frame(3000, seed=4, start=30_000, spread=0.25), "shifted.csv")["batches"][0]
    assert calm["estimated"]["champion"]["drop"] < shifted["estimated"]["champion"]["drop"]


def test_ab_routing_splits_rows_by_stable_hash(world: QualityWorld, champion: Trained) -> None:
    from modelsteward.domain.routing import challenger_mask
    from modelsteward.domain.training import predict, prepare_features
    from modelsteward.layout import UploadKey, inference_key
    from modelsteward.spec import parse_spec

    challenger = world.train(2, make_frame(1200, seed=5), params={"C": 0.01})
    world.register(challenger)
    world.serve(1, challenger=2, share=0.4)
    frame = make_frame(3000, seed=6, start=40_000)
    result = _score(world, frame, "ab.csv")["batches"][0]
    assert result["versions"] == {"champion": 1, "challenger": 2}
    batch_id = UploadKey("scoring", MODEL, "ab.csv", f"scoring/{MODEL}/ab.csv").batch_id
    inference = read_parquet(world.get(DATA, inference_key(MODEL, batch_id)))
    mask = challenger_mask(MODEL, frame["id"], 0.4)
    assert (inference["variant"].to_numpy() == np.where(mask, "challenger", "champion")).all()
    assert abs(mask.mean() - 0.4) < 0.04
    spec = parse_spec(world.spec_doc)
    features = prepare_features(frame, spec)
    expected = np.where(
        mask,
        present(predict(challenger.pipeline, features, challenger.classes).proba)[:, 1],
        present(predict(champion.pipeline, features, champion.classes).proba)[:, 1],
    )
    np.testing.assert_allclose(inference["probability"], expected)
    assert (inference["model_version"].to_numpy() == np.where(mask, 2, 1)).all()


def test_tampered_artifact_is_refused_and_the_batch_quarantined(
    world: QualityWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelsteward.layout import UploadKey, quarantine_prefix

    world.register(world.train(1, make_frame(1200, seed=1)), tamper=True)
    world.serve(1)
    result = _score(world, make_frame(100, seed=7), "evil.csv")["batches"][0]
    assert result["status"] == "quarantined" and result["code"] == "artifact_integrity"
    batch_id = UploadKey("scoring", MODEL, "evil.csv", f"scoring/{MODEL}/evil.csv").batch_id
    assert world.keys(DATA, quarantine_prefix(MODEL, batch_id))
    assert not world.keys(DATA, f"inference/{MODEL}/")
    refused = world.audit("artifact.refused")
    assert len(refused) == 1 and "does not match" in refused[0]["reason"]
    points = emf_points(capsys.readouterr().out)
    assert ("ScoringErrors", 1.0, {"model": MODEL}) in points


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"id,income\nc1,3\n", "missing_columns"),
        (b"\x00\x01\x02 not a table", None),
    ],
)
def test_bad_input_is_quarantined_not_retried(
    world: QualityWorld, champion: Trained, body: bytes, code: str | None
) -> None:
    event = world.upload(f"scoring/{MODEL}/bad.csv", body)
    summary = load_handler("score_batch")(event, LAMBDA_CONTEXT)
    result = summary["batches"][0]
    assert not summary["ok"] and result["status"] == "quarantined"
    if code:
        assert result["code"] == code
    assert world.keys(DATA, f"quarantine/{MODEL}/")
    assert world.audit("batch.quarantined")


def test_no_champion_is_quarantined_with_a_clear_reason(world: QualityWorld) -> None:
    result = _score(world, make_frame(50, seed=8), "early.csv")["batches"][0]
    assert result["status"] == "quarantined" and result["code"] == "no_champion"
    assert "train it" in result["reason"]


def test_a_repeated_delivery_scores_once(world: QualityWorld, champion: Trained) -> None:
    from modelsteward.layout import UploadKey, inference_key

    event = world.upload(
        f"scoring/{MODEL}/again.csv", csv_bytes(make_frame(300, seed=9).drop(columns="default"))
    )
    handler = load_handler("score_batch")
    first = handler(event, LAMBDA_CONTEXT)
    second = handler(event, LAMBDA_CONTEXT)
    assert first == second
    batch_id = UploadKey("scoring", MODEL, "again.csv", f"scoring/{MODEL}/again.csv").batch_id
    versions = world.s3.list_object_versions(Bucket=DATA, Prefix=inference_key(MODEL, batch_id))["Versions"]
    assert len(versions) == 1
    assert len(world.audit("batch.scored")) == 1


def test_cold_start_then_warm_with_cached_model(
    world: QualityWorld, champion: Trained, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelsteward.services import score_batch as service

    service._cold_start = True
    _score(world, make_frame(200, seed=10, start=50_000), "one.csv")
    _score(world, make_frame(200, seed=11, start=60_000), "two.csv")
    points = emf_points(capsys.readouterr().out)
    cold = [v for n, v, d in points if n == "ColdStart" and d == {"model": MODEL}]
    loads = [v for n, v, d in points if n == "ModelLoadTime"]
    assert cold == [1.0, 0.0]
    assert len(loads) == 1  # the second run used the verified model from the process cache


def test_ignores_non_s3_events(world: QualityWorld) -> None:
    out = load_handler("score_batch")({"hello": "world"}, LAMBDA_CONTEXT)
    assert out["ok"] is False and out["error"] == "bad_event"
    assert json.dumps(out)


def test_multiclass_writes_one_probability_column_per_class(world: QualityWorld) -> None:
    from modelsteward.layout import UploadKey, inference_key, predictions_key

    world.put_spec({**world.spec_doc, "task": "multiclass", "primary_metric": "accuracy"})

    def tiers(frame: pd.DataFrame) -> pd.DataFrame:
        frame["default"] = np.where(frame["debt"] > 25, "high", np.where(frame["income"] > 55, "low", "mid"))
        return frame

    world.register(world.train(1, tiers(make_frame(900, seed=1))))
    world.serve(1)
    result = _score(world, tiers(make_frame(400, seed=2, start=7000)), "tiers.csv")["batches"][0]
    assert result["status"] == "scored"
    assert result["estimated"]["champion"]["accuracy"] > 0.5
    batch_id = UploadKey("scoring", MODEL, "tiers.csv", f"scoring/{MODEL}/tiers.csv").batch_id
    inference = read_parquet(world.get(DATA, inference_key(MODEL, batch_id)))
    names = ["probability_high", "probability_low", "probability_mid"]
    assert set(names) <= set(inference.columns)
    np.testing.assert_allclose(inference[names].sum(axis=1), 1.0)
    assert set(inference["prediction"]) <= {"high", "low", "mid"}
    compact = read_parquet(world.get(ARTIFACTS, predictions_key(MODEL, batch_id)))
    assert set(names) <= set(compact.columns)
