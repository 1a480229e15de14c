"""evaluate_labels end to end on moto: labels joined across scoring batches, realized metrics, pool."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lambda_context import LAMBDA_CONTEXT
from quality_fixtures import (
    ARTIFACTS,
    DATA,
    MODEL,
    QualityWorld,
    csv_bytes,
    emf_points,
    load_handler,
    make_frame,
    read_parquet,
    world,
)
from sklearn import metrics as skm

__all__ = ["world"]


def batch_id_of(prefix: str, name: str, model: str = MODEL) -> str:
    from modelsteward.layout import UploadKey

    return UploadKey(prefix, model, name, f"{prefix}/{model}/{name}").batch_id


def score(world: QualityWorld, frame: pd.DataFrame, name: str) -> dict[str, Any]:
    event = world.upload(f"scoring/{MODEL}/{name}", csv_bytes(frame.drop(columns=["default"])))
    result: dict[str, Any] = load_handler("score_batch")(event, LAMBDA_CONTEXT)["batches"][0]
    assert result["status"] == "scored", result
    return result


def send_labels(world: QualityWorld, frame: pd.DataFrame, name: str, model: str = MODEL) -> dict[str, Any]:
    event = world.upload(f"labels/{model}/{name}", csv_bytes(frame))
    result: dict[str, Any] = load_handler("evaluate_labels")(event, LAMBDA_CONTEXT)["batches"][0]
    return result


@pytest.fixture
def scored(world: QualityWorld) -> dict[str, Any]:
    """Champion v1 and challenger v2 (30% of traffic); two scoring batches."""
    champion = world.train(1, make_frame(1500, seed=1))
    challenger = world.train(2, make_frame(1500, seed=2), params={"C": 0.005})
    world.register(champion)
    world.register(challenger)
    world.serve(1, challenger=2, share=0.3)
    first = make_frame(1200, seed=3, start=0)
    second = make_frame(800, seed=4, start=5000)
    score(world, first, "monday.csv")
    score(world, second, "tuesday.csv")
    return {"first": first, "second": second, "champion": champion, "challenger": challenger}


def test_labels_join_across_batches_and_metrics_equal_sklearns(
    world: QualityWorld, scored: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from modelsteward.layout import inference_key, quality_prefix

    truth = pd.concat([scored["first"].iloc[:700], scored["second"].iloc[:500]], ignore_index=True)
    labels = truth[["id", "default"]].copy()
    labels["timestamp"] = "2026-03-05T00:00:00Z"
    # a corrected label for an id already labeled (later timestamp wins), and ids never scored
    fix = pd.DataFrame(
        {
            "id": [truth["id"][0]],
            "default": ["yes" if truth["default"][0] == "no" else "no"],
            "timestamp": ["2026-03-06T00:00:00Z"],
        }
    )
    stray = pd.DataFrame(
        {
            "id": ["ghost-1", "ghost-2", "ghost-3"],
            "default": ["no", "yes", "no"],
            "timestamp": ["2026-03-05T00:00:00Z"] * 3,
        }
    )
    upload = pd.concat([labels, fix, stray], ignore_index=True)
    upload["timestamp"] = pd.to_datetime(upload["timestamp"], utc=True)
    capsys.readouterr()
    result = send_labels(world, upload, "week-10.csv")
    assert result["status"] == "evaluated", result
    assert result["counts"]["matched"] == 1200
    assert result["counts"]["unmatched"] == 3
    assert result["counts"]["duplicates"] == 1
    truth.loc[0, "default"] = fix["default"][0]

    batch_id = batch_id_of("labels", "week-10.csv")
    quality = json.loads(world.get(ARTIFACTS, quality_prefix(MODEL, batch_id) + "quality.json"))
    assert quality["counts"]["label_rows"] == len(upload)
    assert quality["unmatched"]["count"] == 3 and quality["unmatched"]["ref"]
    unmatched = read_parquet(world.get(ARTIFACTS, quality_prefix(MODEL, batch_id) + "unmatched.parquet"))
    assert sorted(unmatched["id"]) == ["ghost-1", "ghost-2", "ghost-3"]

    # realized metrics per variant, pinned against scikit-learn on the stored inference rows
    inference = pd.concat(
        [
            read_parquet(world.get(DATA, inference_key(MODEL, batch_id_of("scoring", n))))
            for n in ("monday.csv", "tuesday.csv")
        ]
    )
    joined = inference.merge(truth[["id", "default"]], on="id")
    for variant in ("champion", "challenger"):
        rows = joined[joined["variant"] == variant]
        got = quality["variants"][variant]["metrics"]
        assert quality["variants"][variant]["rows"] == len(rows)
        assert got["accuracy"] == pytest.approx(skm.accuracy_score(rows["default"], rows["prediction"]))
        assert got["f1"] == pytest.approx(skm.f1_score(rows["default"], rows["prediction"], pos_label="yes"))
        assert got["roc_auc"] == pytest.approx(
            skm.roc_auc_score(rows["default"] == "yes", rows["probability"])
        )
        assert got["log_loss"] == pytest.approx(
            skm.log_loss(
                rows["default"],
                np.column_stack([1 - rows["probability"], rows["probability"]]),
                labels=["no", "yes"],
            )
        )
    champion_rows = joined[joined["variant"] == "champion"]
    validation = scored["champion"].metrics["roc_auc"]
    realized_auc = skm.roc_auc_score(champion_rows["default"] == "yes", champion_rows["probability"])
    assert quality["overall"]["value"] == pytest.approx(realized_auc)
    assert quality["overall"]["drop"] == pytest.approx(validation - realized_auc)
    assert {(v["version"], v["variant"]) for v in quality["versions"]} == {(1, "champion"), (2, "challenger")}
    assert set(quality["variants"]["champion"]["segments"]["region"]) == {"east", "north", "south"}

    # late labels: which scoring batches / windows they belong to
    assert {b["batch_id"] for b in quality["late_labels"]["batches"]} == {
        batch_id_of("scoring", "monday.csv"),
        batch_id_of("scoring", "tuesday.csv"),
    }

    points = emf_points(capsys.readouterr().out)
    assert ("LabelsMatched", 1200.0, {"model": MODEL}) in points
    assert ("LabelsUnmatched", 3.0, {"model": MODEL}) in points
    model_level = {n: v for n, v, d in points if d == {"model": MODEL}}
    assert model_level["RealizedPrimaryMetric"] == pytest.approx(realized_auc)
    assert model_level["RealizedPrimaryMetricDrop"] == pytest.approx(validation - realized_auc)
    assert "Realized_accuracy" in model_level
    per_variant = {(n, d["variant"]) for n, v, d in points if "variant" in d}
    assert ("RealizedPrimaryMetric", "challenger") in per_variant

    audit = world.audit("labels.evaluated")
    assert len(audit) == 1 and audit[0]["details"]["counts"]["matched"] == 1200


def test_pool_gets_labeled_rows_with_lineage(world: QualityWorld, scored: dict[str, Any]) -> None:
    from modelsteward.layout import pool_key, quality_prefix

    world.put_spec({**world.spec_doc, "pii": {"action": "allow"}})
    truth = scored["first"].iloc[:300]
    send_labels(world, truth[["id", "default"]], "pool.csv")
    batch_id = batch_id_of("labels", "pool.csv")
    pool = read_parquet(world.get(DATA, pool_key(MODEL, batch_id)))
    assert list(pool.columns) == ["id", "timestamp", "income", "debt", "region", "default"]
    assert len(pool) == 300
    merged = pool.merge(truth, on="id", suffixes=("", "_truth"))
    assert (merged["default"] == merged["default_truth"]).all()
    np.testing.assert_allclose(merged["income"], merged["income_truth"])
    assert world.keys(DATA, f"pool/{MODEL}/") == [pool_key(MODEL, batch_id)]  # train_model reads them all
    lineage = json.loads(world.get(ARTIFACTS, quality_prefix(MODEL, batch_id) + "pool_lineage.json"))
    assert lineage["labels"]["uri"].endswith("labels/credit/pool.csv")
    assert len(lineage["prediction_files"]) == 1 and len(lineage["inference_files"]) == 1
    assert lineage["model_versions"] == [1, 2]


def test_labels_for_an_unknown_model_are_counted_and_quarantined(world: QualityWorld) -> None:
    from modelsteward.layout import quality_prefix

    frame = pd.DataFrame({"id": ["a", "b"], "label": ["yes", "no"]})
    result = send_labels(world, frame, "x.csv", model="nobody")
    assert result["status"] == "quarantined" and result["code"] == "unknown_model"
    quality = json.loads(
        world.get(
            ARTIFACTS, quality_prefix("nobody", batch_id_of("labels", "x.csv", "nobody")) + "quality.json"
        )
    )
    assert quality["status"] == "unknown_model" and quality["counts"]["unmatched"] == 2
    assert world.keys(DATA, "quarantine/nobody/")


def test_labels_before_any_scoring_are_all_unmatched(world: QualityWorld) -> None:
    result = send_labels(
        world, pd.DataFrame({"id": ["a", "b", "a"], "label": ["yes", "no", "no"]}), "early.csv"
    )
    assert result["status"] == "no_matches"
    assert result["counts"]["unmatched"] == 2 and result["counts"]["duplicates"] == 1


def test_label_file_without_a_label_column_is_quarantined(
    world: QualityWorld, scored: dict[str, Any]
) -> None:
    result = send_labels(world, pd.DataFrame({"id": ["c1"], "outcome": ["yes"]}), "bad.csv")
    assert result["status"] == "quarantined"
    assert "default" in result["reason"]


def test_predictions_outside_the_window_are_not_joined(world: QualityWorld, scored: dict[str, Any]) -> None:
    import datetime as dt

    from modelsteward.events import s3_uploads
    from modelsteward.services.context import Context
    from modelsteward.services.evaluate_labels import evaluate_upload

    event = world.upload(f"labels/{MODEL}/late.csv", csv_bytes(scored["first"][["id", "default"]].iloc[:50]))
    ctx = Context.from_environment("test")
    far_future = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    ctx = Context(
        settings=ctx.settings,
        store=ctx.store,
        metrics=ctx.metrics,
        registry=ctx.registry,
        audit=ctx.audit,
        clock=lambda: far_future,
    )
    result = evaluate_upload(ctx, s3_uploads(event)[0])
    assert result["counts"]["matched"] == 0 and result["counts"]["unmatched"] == 50


@pytest.mark.parametrize("action", ["quarantine", "hash"])
def test_pii_policy_applies_to_the_pool(world: QualityWorld, action: str) -> None:
    from modelsteward.layout import pool_key, quality_prefix

    world.put_spec({**world.spec_doc, "pii": {"action": action}})
    world.register(world.train(1, make_frame(1500, seed=1)))
    world.serve(1)
    frame = make_frame(200, seed=12)
    frame["id"] = [f"person{i}@example.com" for i in range(len(frame))]  # ids that are e-mail addresses
    score(world, frame, "people.csv")
    result = send_labels(world, frame[["id", "default"]], "people.csv")
    assert result["counts"]["matched"] == 200
    batch_id = batch_id_of("labels", "people.csv")
    quality = json.loads(world.get(ARTIFACTS, quality_prefix(MODEL, batch_id) + "quality.json"))
    assert quality["pool"]["pii"]["columns"] == ["id"]
    if action == "quarantine":
        assert (
            quality["pool"]["written"] is False and "pii.action is 'quarantine'" in quality["pool"]["reason"]
        )
        assert not world.keys(DATA, f"pool/{MODEL}/")
    else:
        pool = read_parquet(world.get(DATA, pool_key(MODEL, batch_id)))
        assert len(pool) == 200 and not pool["id"].str.contains("@").any()
        assert pool["id"].nunique() == 200  # keyed hashes keep rows distinct
