"""Bring your own model on moto: reference -> inference batches -> labels give realized metrics
equal to scikit-learn's per batch, label-free estimates per batch, and late labels update the batch."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from byom_data import csv_bytes, rows, sklearn_metrics, spec_yaml

from modelsteward import layout
from modelsteward.events import s3_uploads
from modelsteward.services.create_baseline import create_baseline
from modelsteward.services.evaluate_labels import evaluate_upload
from modelsteward.services.monitor_batch import monitor_batch

if TYPE_CHECKING:
    from conftest import Cloud, RecordingContext

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _run(
    aws: Cloud, context: RecordingContext, name: str, task: str, batches: int = 3, n: int = 400
) -> tuple[dict[str, Any], list[tuple[pd.DataFrame, dict[str, Any]]]]:
    aws.put(f"specs/{name}/spec.yaml", spec_yaml(name, task))
    reference = rows(task, 2000, seed=1, start=START - dt.timedelta(days=10))
    summary = create_baseline(
        context, s3_uploads(aws.put(f"reference/{name}/ref.csv", csv_bytes(reference)))[0]
    )
    assert summary["status"] == "created", summary
    out: list[tuple[pd.DataFrame, dict[str, Any]]] = []
    for i in range(batches):
        frame = rows(task, n, seed=100 + i, start=START + dt.timedelta(days=3 * i))  # 3 event-days apart
        inference = frame.drop(columns=["outcome"])
        monitored = monitor_batch(
            context, s3_uploads(aws.put(f"inference/{name}/b{i}.csv", csv_bytes(inference)))[0]
        )
        assert monitored["status"] == "accepted", monitored
        assert monitored["predictions"]["kept"], monitored
        out.append((frame, monitored))
    return summary, out


def test_binary_byom_gets_realized_metrics_equal_to_sklearn_and_estimates(
    aws: Cloud, context: RecordingContext
) -> None:
    summary, batches = _run(aws, context, "churn-byom", "binary")
    assert summary["label_free_estimates"] and not summary["warnings"]
    for i, (frame, monitored) in enumerate(batches):
        est = monitored["predictions"]["estimated"]
        assert (
            est["estimated"]
            and 0.5 < est["roc_auc"] <= 1.0
            and est["lower"] <= est["roc_auc"] <= est["upper"]
        )
        labels = frame[["id", "timestamp", "outcome"]]
        done = evaluate_upload(
            context, s3_uploads(aws.put(f"labels/churn-byom/l{i}.csv", csv_bytes(labels)))[0]
        )
        assert done["status"] == "evaluated", done
        quality = aws.get_json(_quality_key(aws, "churn-byom", f"l{i}"))
        assert quality["counts"]["matched"] == len(frame)
        # found through the event-time partition: only this batch's file was read
        assert quality["prediction_files"]["read"] == 1
        expected = sklearn_metrics("binary", frame)
        got = quality["overall"]["metrics"]
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, abs=1e-9), name
        [per_batch] = quality["batches"]
        assert per_batch["batch_id"] == monitored["batch_id"] and per_batch["roc_auc"] == pytest.approx(
            expected["roc_auc"]
        )
        doc = aws.get_json(layout.estimated_performance_key("churn-byom", monitored["batch_id"]))
        assert doc["overall"]["estimate"]["metrics"]["roc_auc"]["value"] == pytest.approx(est["roc_auc"])
    names = {p[0] for p in context.metrics.points}
    assert {"EstimatedPrimaryMetric", "EstimatedPrimaryMetricDrop", "RealizedPrimaryMetric"} <= names


def _quality_key(aws: Cloud, model: str, stem: str) -> str:
    keys = [
        k for k in aws.keys(f"quality/{model}/{stem}-", aws.artifacts_bucket) if k.endswith("/quality.json")
    ]
    assert len(keys) == 1, keys
    return keys[0]


def test_late_labels_update_the_batch_they_belong_to(aws: Cloud, context: RecordingContext) -> None:
    _, [(frame, monitored)] = _run(aws, context, "late-byom", "binary", batches=1)
    first, second = frame.iloc[:150], frame.iloc[150:]
    for j, part in enumerate((first, second)):
        # no timestamps: found through the scoring-day index instead
        evaluate_upload(
            context, s3_uploads(aws.put(f"labels/late-byom/p{j}.csv", csv_bytes(part[["id", "outcome"]])))[0]
        )
    realized = aws.get_json(layout.batch_realized_key("late-byom", monitored["batch_id"]))
    assert realized["rows_labeled"] == len(frame) and len(realized["label_files"]) == 2
    assert realized["value"] == pytest.approx(sklearn_metrics("binary", frame)["roc_auc"])
    assert realized["reference"] is not None and realized["drop"] == pytest.approx(
        realized["reference"] - realized["value"]
    )


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_multiclass_and_regression_byom_get_realized_metrics(
    aws: Cloud, context: RecordingContext, task: str
) -> None:
    name = f"{task[:5]}-byom"
    _, [(frame, monitored)] = _run(aws, context, name, task, batches=1)
    evaluate_upload(
        context,
        s3_uploads(aws.put(f"labels/{name}/l.csv", csv_bytes(frame[["id", "timestamp", "outcome"]])))[0],
    )
    realized = aws.get_json(layout.batch_realized_key(name, monitored["batch_id"]))
    for metric, value in sklearn_metrics(task, frame).items():
        assert realized["metrics"][metric] == pytest.approx(value, abs=1e-9), metric
    assert set(realized["segments"]) == {"region"}


def test_a_reference_without_labels_is_accepted_with_a_warning(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/nolabel/spec.yaml", spec_yaml("nolabel", "binary"))
    reference = rows("binary", 500, seed=3, start=START).drop(columns=["outcome", "probability"])
    summary = create_baseline(
        context, s3_uploads(aws.put("reference/nolabel/ref.csv", csv_bytes(reference)))[0]
    )
    assert summary["status"] == "created" and not summary["label_free_estimates"]
    assert any("'outcome'" in w for w in summary["warnings"]) and any(
        "probabilit" in w for w in summary["warnings"]
    )
    batch = rows("binary", 300, seed=4, start=START).drop(columns=["outcome"])
    monitored = monitor_batch(context, s3_uploads(aws.put("inference/nolabel/b.csv", csv_bytes(batch)))[0])
    assert monitored["predictions"]["kept"]
    assert not monitored["predictions"]["estimated"]["estimated"]
    assert "reference upload had no labels" in monitored["predictions"]["estimated"]["reason"]
    report = aws.get_json(layout.batch_report_prefix("nolabel", monitored["batch_id"]) + "report.json")
    [warning] = [c for c in report["contract"] if c["check"] == "no_label_free_estimate"]
    assert "reference/nolabel/" in warning["message"]
    # no artefact of a model served elsewhere: the report says attribution drift is not available
    assert report["attribution_drift"]["available"] is False
    assert "served elsewhere" in report["attribution_drift"]["reason"]
    assert "no model artefact" in report["attribution_drift"]["reason"]


def test_versions_and_variants_named_by_the_batch_are_kept(aws: Cloud, context: RecordingContext) -> None:
    aws.put("specs/ab-byom/spec.yaml", spec_yaml("ab-byom", "binary"))
    create_baseline(
        context,
        s3_uploads(aws.put("reference/ab-byom/ref.csv", csv_bytes(rows("binary", 1000, 1, START))))[0],
    )
    frame = rows("binary", 400, seed=9, start=START)
    frame["model_version"] = ["3" if i % 2 else "4" for i in range(len(frame))]
    frame["variant"] = ["blue" if i % 2 else "green" for i in range(len(frame))]
    monitored = monitor_batch(
        context, s3_uploads(aws.put("inference/ab-byom/b.csv", csv_bytes(frame.drop(columns=["outcome"]))))[0]
    )
    evaluate_upload(
        context,
        s3_uploads(aws.put("labels/ab-byom/l.csv", csv_bytes(frame[["id", "timestamp", "outcome"]])))[0],
    )
    quality = aws.get_json(_quality_key(aws, "ab-byom", "l"))
    assert set(quality["variants"]) == {"blue", "green"}
    assert {(v["version"], v["variant"]) for v in quality["versions"]} == {(3, "blue"), (4, "green")}
    blue = frame.iloc[1::2]
    assert quality["variants"]["blue"]["metrics"]["roc_auc"] == pytest.approx(
        sklearn_metrics("binary", blue)["roc_auc"]
    )
    assert quality["overall"]["rows"] == len(frame)
    assert monitored["predictions"]["estimated"]["estimated"]


# --- SageMaker Model Monitor's own files ---------------------------------------------------------
CAPTURE_STYLES = [
    ("text/csv", False),
    ("text/csv", True),
    ("application/json", False),
    ("application/json", True),
]


def test_capture_and_ground_truth_files_give_the_same_results_as_flat_tables(
    aws: Cloud, context: RecordingContext
) -> None:
    from byom_data import capture_lines, ground_truth_lines

    for name in ("flat-byom", "cap-byom"):
        aws.put(f"specs/{name}/spec.yaml", spec_yaml(name, "binary"))
        create_baseline(
            context,
            s3_uploads(aws.put(f"reference/{name}/ref.csv", csv_bytes(rows("binary", 2000, 1, START))))[0],
        )
    for i, (content_type, b64) in enumerate(CAPTURE_STYLES):
        frame = rows("binary", 300, seed=200 + i, start=START + dt.timedelta(hours=i))
        flat = monitor_batch(
            context,
            s3_uploads(aws.put(f"inference/flat-byom/b{i}.csv", csv_bytes(frame.drop(columns=["outcome"]))))[
                0
            ],
        )
        key = f"inference/cap-byom/my-endpoint/AllTraffic/2026/03/01/{i:02d}/capture-{i}.jsonl"
        cap = monitor_batch(
            context,
            s3_uploads(
                aws.put(
                    key,
                    capture_lines(
                        frame, content_type=content_type, base64_encoded=b64, inference_id=i % 2 == 1
                    ),
                )
            )[0],
        )
        assert cap["status"] == "accepted", cap
        assert cap["verdict"] == flat["verdict"] and cap["rows"] == flat["rows"] == len(frame)
        assert cap["predictions"]["estimated"]["roc_auc"] == pytest.approx(
            flat["predictions"]["estimated"]["roc_auc"]
        )
        evaluate_upload(
            context, s3_uploads(aws.put(f"labels/flat-byom/l{i}.csv", csv_bytes(frame[["id", "outcome"]])))[0]
        )
        gt_key = f"labels/cap-byom/my-endpoint/AllTraffic/2026/03/02/{i:02d}/gt-{i}.jsonl"
        evaluate_upload(
            context, s3_uploads(aws.put(gt_key, ground_truth_lines(frame, base64_encoded=b64)))[0]
        )
        flat_q = aws.get_json(layout.batch_realized_key("flat-byom", flat["batch_id"]))
        cap_q = aws.get_json(layout.batch_realized_key("cap-byom", cap["batch_id"]))
        assert cap_q["rows_labeled"] == flat_q["rows_labeled"] == len(frame)
        for metric in ("roc_auc", "accuracy", "f1", "log_loss"):
            assert cap_q["metrics"][metric] == pytest.approx(flat_q["metrics"][metric]), metric
        assert [v["variant"] for v in cap_q["versions"]] == ["AllTraffic"]


def test_undecodable_capture_records_quarantine_the_file_with_counts_not_values(
    aws: Cloud, context: RecordingContext
) -> None:
    from byom_data import capture_lines

    aws.put("specs/bad-cap/spec.yaml", spec_yaml("bad-cap", "binary"))
    create_baseline(
        context, s3_uploads(aws.put("reference/bad-cap/ref.csv", csv_bytes(rows("binary", 500, 1, START))))[0]
    )
    frame = rows("binary", 40, seed=7, start=START)
    lines = capture_lines(frame, content_type="text/csv", base64_encoded=True).decode().splitlines()
    broken = [
        line.replace('"data": "', '"data": "%%secret-value%%') if k % 2 else line
        for k, line in enumerate(lines)
    ]
    done = monitor_batch(
        context, s3_uploads(aws.put("inference/bad-cap/c.jsonl", ("\n".join(broken) + "\n").encode()))[0]
    )
    assert done["status"] == "quarantined", done
    reason = aws.get_json(f"quarantine/bad-cap/{done['batch_id']}/reason.json", aws.data_bucket)
    text = json.dumps(reason)
    assert "capture_undecodable" in text and "20 of 40" in text and "not valid base64" in text
    assert "secret-value" not in text


def test_a_model_without_training_data_cannot_be_retrained_and_says_what_to_do(
    aws: Cloud, context: RecordingContext
) -> None:
    from modelsteward.domain.training import can_train
    from modelsteward.services.specs import load_spec
    from modelsteward.services.training_data import training_data_available

    aws.put("specs/served-elsewhere/spec.yaml", spec_yaml("served-elsewhere", "binary"))
    spec, _ = load_spec(context, "served-elsewhere")
    create_baseline(
        context,
        s3_uploads(aws.put("reference/served-elsewhere/r.csv", csv_bytes(rows("binary", 300, 1, START))))[0],
    )
    assert training_data_available(context, spec) is False
    ok, why = can_train(spec, training_data_available(context, spec))
    assert not ok and "reference/served-elsewhere/" in why and "training/served-elsewhere/" in why
    aws.put("training/served-elsewhere/t.csv", b"x\n1\n")
    assert training_data_available(context, spec) is True
    assert can_train(spec, True)[0]


def test_a_challenger_trained_from_the_labeled_pool_is_gated_against_the_served_models_predictions(
    aws: Cloud,
) -> None:
    from registry_fixtures import RecordingNotifier, make_context

    from modelsteward.services.train_model import retrain

    ctx = make_context(notifier=RecordingNotifier())
    name = "pool-byom"
    aws.put(f"specs/{name}/spec.yaml", spec_yaml(name, "binary", "retrain:\n  from_labeled_pool: true\n"))

    def served_badly(
        frame: pd.DataFrame,
    ) -> pd.DataFrame:  # the served model is half noise: a challenger can beat it
        noise = np.random.default_rng(len(frame)).random(len(frame))
        frame["probability"] = (0.4 * frame["probability"] + 0.6 * noise).round(6)
        frame["prediction"] = np.where(frame["probability"] >= 0.5, "1", "0")
        return frame

    reference = served_badly(rows("binary", 1500, seed=1, start=START - dt.timedelta(days=3)))
    create_baseline(ctx, s3_uploads(aws.put(f"reference/{name}/ref.csv", csv_bytes(reference)))[0])
    for i in range(2):
        frame = served_badly(rows("binary", 400, seed=60 + i, start=START + dt.timedelta(hours=i)))
        monitor_batch(
            ctx,
            s3_uploads(aws.put(f"inference/{name}/b{i}.csv", csv_bytes(frame.drop(columns=["outcome"]))))[0],
        )
        done = evaluate_upload(
            ctx, s3_uploads(aws.put(f"labels/{name}/l{i}.csv", csv_bytes(frame[["id", "outcome"]])))[0]
        )
        assert done["pool"], done
    pool = aws.keys(f"pool/{name}/", aws.data_bucket)
    assert len(pool) == 2
    result = retrain(ctx, {"model": name, "reason": "drift", "trigger": "manual"})
    assert result["status"] == "trained", result
    assert result["outcome"] == "pending_approval"  # never promoted over a model the suite does not serve
    row = ctx.registry.get_version(name, result["version"])
    assert [r["role"] for r in row["lineage"]] == ["labeled_reference", "labeled_pool", "labeled_pool"]
    assert row["n_train"] + row["n_holdout"] == 1500 + 800
    evaluation = aws.get_json(row["evaluation_uri"].split("/", 3)[3])
    served = evaluation["champion_metrics_on_holdout"]
    assert served is not None and 0.6 < served["roc_auc"] < 1.0  # the served model's own predictions
    assert evaluation["gate"]["champion_score"] == pytest.approx(served["roc_auc"])
    assert evaluation["metrics"]["roc_auc"] > served["roc_auc"] + 0.05  # the better successor
    assert any("served outside the suite" in r for r in row["gate"]["reasons"])
    assert "gate.decision" in [r["action"] for r in ctx.audit.records() if r.get("model") == name]


def test_the_inference_file_the_scorer_wrote_is_not_kept_twice(aws: Cloud, context: RecordingContext) -> None:
    from modelsteward.events import s3_uploads as uploads

    aws.put("specs/scored/spec.yaml", spec_yaml("scored", "binary"))
    create_baseline(
        context, uploads(aws.put("reference/scored/r.csv", csv_bytes(rows("binary", 500, 1, START))))[0]
    )
    frame = rows("binary", 200, seed=5, start=START).drop(columns=["outcome"])
    key = layout.inference_key("scored", "batch-1-abcd1234")
    body = csv_bytes(frame)  # score_batch writes Parquet; the key and the metadata are what count
    event = aws.put(key, body)  # the notification's shape; then the version score_batch would write
    resp = aws.s3.put_object(
        Bucket=aws.data_bucket, Key=key, Body=body, Metadata={"batch-id": "batch-1-abcd1234"}
    )
    event["Records"][0]["s3"]["object"]["versionId"] = resp["VersionId"]
    done = monitor_batch(context, uploads(event)[0])
    assert done["status"] == "accepted" and done["predictions"]["kept"] is False
    assert aws.keys("predictions/scored/", aws.artifacts_bucket) == []


def test_a_served_models_report_shows_its_estimate_and_later_the_realized_value(
    aws: Cloud, context: RecordingContext
) -> None:
    name = "side-byom"
    aws.put(f"specs/{name}/spec.yaml", spec_yaml(name, "binary"))
    reference = rows("binary", 2000, seed=1, start=START - dt.timedelta(days=10))
    create_baseline(context, s3_uploads(aws.put(f"reference/{name}/ref.csv", csv_bytes(reference)))[0])
    sample_key = layout.estimation_sample_key(layout.reference_estimation_key(name))
    assert aws.keys(sample_key, aws.artifacts_bucket) == [sample_key]  # the rows estimates are adjusted with
    shifted = rows("binary", 1500, seed=300, start=START, shift=1.0)
    monitored = monitor_batch(
        context,
        s3_uploads(aws.put(f"inference/{name}/s.csv", csv_bytes(shifted.drop(columns=["outcome"]))))[0],
    )
    batch_id = monitored["batch_id"]
    estimate = aws.get_json(layout.estimated_performance_key(name, batch_id))["overall"]["estimate"]
    assert estimate["shift_adjusted"] and estimate["shift_domain_auc"] > 0.6  # x1 moved by one sd
    prefix = layout.batch_report_prefix(name, batch_id)
    report = aws.get_json(prefix + "report.json")
    overall = report["performance"]["variants"][0]  # all rows first, then the batch's own variants
    assert overall["variant"] == "model" and overall["metrics"][0]["realized"] is None
    assert "Realized: awaiting labels." in _text(aws, prefix + "report.html")
    evaluate_upload(
        context,
        s3_uploads(aws.put(f"labels/{name}/l.csv", csv_bytes(shifted[["id", "timestamp", "outcome"]])))[0],
    )
    page = _text(aws, prefix + "report.html")
    realized = sklearn_metrics("binary", shifted)["roc_auc"]
    assert f"Realized {realized:.3f} from {len(shifted):,} labeled rows" in page
    assert aws.get_json(prefix + "report.json") == report  # the monitoring record stays as it was


def _text(aws: Cloud, key: str) -> str:
    return str(aws.s3.get_object(Bucket=aws.artifacts_bucket, Key=key)["Body"].read().decode())
