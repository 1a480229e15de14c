"""Label-free estimates under an A/B split on the local cloud (issue 23), driven like a user.

v1 is trained and approved, v2 trained from another draw of the same data and made challenger at
50 %; an unshifted batch is scored, then its labels arrive. Each variant's estimate must hold its
band around the value its labels realize, and the model-level metrics must be the champion's only:
CloudWatch names a metric by its exact dimensions, so ``{model}`` never mixes in the challenger's
``{model, variant}`` points (moto matched by subset; the local cloud now matches exactly).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloud_metrics import datapoints

from modelsteward.layout import monitored_batch_id
from stewardtools.cli.main import main as steward
from stewardtools.datasets import generate
from stewardtools.localcloud.deploy import LocalCloud

MODEL = "credit-default"
SPEC = Path(__file__).resolve().parents[2] / "examples" / "specs" / f"{MODEL}.yaml"


def _csv(frame: Any) -> bytes:
    return str(frame.to_csv(index=False)).encode()


def _statistics(cloud: LocalCloud, name: str, dims: dict[str, str]) -> list[dict[str, Any]]:
    return datapoints(cloud, name, dims, statistics=("Maximum", "Minimum", "SampleCount"), period=86400)


@pytest.fixture(scope="module")
def ab_cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("ab-estimates")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec["gate"]["auto_promote"] = False
    spec_path = folder / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with LocalCloud(models=[MODEL], state_dir=folder / "state") as cloud:
        stack = ["--stack", cloud.stack_name]
        assert steward(["models", "onboard", str(spec_path), *stack]) == 0
        cloud.upload(f"training/{MODEL}/v1.csv", _csv(generate(MODEL, 6000, seed=1, start=cloud.now)))
        cloud.wait_idle()
        assert steward(["models", "approve", MODEL, "1", "--reason", "first model", *stack]) == 0
        cloud.advance(hours=1)
        cloud.upload(f"training/{MODEL}/v2.csv", _csv(generate(MODEL, 20000, seed=2, start=cloud.now)))
        cloud.wait_idle()
        assert steward(["models", "challenger", MODEL, "2", "--share", "0.5", *stack]) == 0
        cloud.advance(hours=1)
        batch = generate(MODEL, 4000, seed=7, start=cloud.now, span_hours=1)
        cloud.upload(f"scoring/{MODEL}/ab.csv", _csv(batch.drop(columns=["default"])))
        cloud.wait_idle()
        cloud.upload(f"labels/{MODEL}/ab.csv", _csv(batch[["id", "default"]]))
        cloud.wait_idle()
        yield cloud


def _estimated_document(cloud: LocalCloud) -> dict[str, Any]:
    s3 = cloud.client("s3")
    bucket = cloud.outputs["ArtifactsBucketName"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"quality/{MODEL}/ab-")["Contents"]
    (key,) = [o["Key"] for o in listed if o["Key"].endswith("/estimated.json")]
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_each_variant_estimate_holds_its_band_around_the_realized_value(ab_cloud: LocalCloud) -> None:
    document = _estimated_document(ab_cloud)
    assert {v: d["version"] for v, d in document["variants"].items()} == {"champion": 1, "challenger": 2}
    for variant in ("champion", "challenger"):
        dims = {"model": MODEL, "variant": variant}
        (realized,) = _statistics(ab_cloud, "RealizedPrimaryMetric", dims)
        (estimated,) = _statistics(ab_cloud, "EstimatedPrimaryMetric", dims)
        band = document["variants"][variant]["estimate"]["metrics"]["roc_auc"]
        assert estimated["Maximum"] == pytest.approx(band["value"])
        assert band["lower"] <= realized["Maximum"] <= band["upper"], (variant, band, realized)
        assert abs(band["value"] - realized["Maximum"]) < 0.02, (variant, band, realized)


def test_model_level_metrics_are_the_champions_only(ab_cloud: LocalCloud) -> None:
    for name in ("EstimatedPrimaryMetric", "RealizedPrimaryMetric"):
        (overall,) = _statistics(ab_cloud, name, {"model": MODEL})
        (champion,) = _statistics(ab_cloud, name, {"model": MODEL, "variant": "champion"})
        (challenger,) = _statistics(ab_cloud, name, {"model": MODEL, "variant": "challenger"})
        assert overall["SampleCount"] == 1.0, name
        assert overall["Maximum"] == champion["Maximum"], name
        assert challenger["Maximum"] != champion["Maximum"], name


def _get(cloud: LocalCloud, key: str) -> bytes:
    bucket = cloud.outputs["ArtifactsBucketName"]
    return bytes(cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_batch_report_and_timeline_show_estimate_band_and_realized_side_by_side(ab_cloud: LocalCloud) -> None:
    document = _estimated_document(ab_cloud)
    batch_id = document["batch_id"]  # score_batch's; monitor_batch reports under its inference file's id
    prefix = f"reports/{MODEL}/batches/{monitored_batch_id(MODEL, batch_id)}/"
    # report.json: what monitoring knew (the estimate per variant, no labels yet)
    report = json.loads(_get(ab_cloud, prefix + "report.json"))
    variants = {v["variant"]: v for v in report["performance"]["variants"]}
    assert set(variants) == {"champion", "challenger"}
    for name, entry in variants.items():
        primary = entry["metrics"][0]
        band = document["variants"][name]["estimate"]["metrics"]["roc_auc"]
        assert primary["metric"] == "roc_auc" and primary["estimate"] == pytest.approx(band["value"])
        assert primary["width"] == pytest.approx(band["upper"] - band["lower"])
        assert primary["realized"] is None
    # report.html, redrawn when the labels came: both variants with their realized values
    html = _get(ab_cloud, prefix + "report.html").decode()
    realized = _get(ab_cloud, f"quality/{MODEL}/{batch_id}/realized.json")
    by_variant = {v["variant"]: v for v in json.loads(realized)["versions"]}
    assert "Model performance: estimate and realized" in html
    for name in ("champion", "challenger"):
        value = by_variant[name]["metrics"]["roc_auc"]
        assert f"Realized {value:.3f} from {by_variant[name]['rows']:,} labeled rows" in html, name
    assert "Awaiting labels" not in html
    # the drift-over-time page, once check_window ran: the champion's estimate, band and realized
    ab_cloud.fire_schedule("check_window")
    ab_cloud.wait_idle()
    timeline = _get(ab_cloud, f"reports/{MODEL}/timeline.html").decode()
    assert "Estimated ROC AUC over time, and realized" in timeline
    champion = by_variant["champion"]["metrics"]["roc_auc"]
    assert f"{champion:.3f}" in timeline and 'class="realized"' in timeline
