"""Fairness guardrails on the local cloud: a retrain that is better but unfair is rejected with evidence.

The planted group effect (see ``_data``): ``sex`` is a sensitive attribute that is NOT a model
feature; ``proxy`` is a feature that tracks ``sex`` closely (think of a postcode). In the first
training snapshot the label depends on ``income`` and ``debt`` only, so the model ignores ``proxy``
and approves both groups at the same rate. In the second snapshot the recorded labels are biased:
a share of group F's approvals were recorded as refusals. The retrained model learns ``proxy`` and
predicts those biased labels better (higher ROC AUC on its own holdout, significantly), but its
approval rate for F falls far below M's: demographic parity difference > 0.1 and disparate impact
< 0.8, the bounds the spec commits to. The gate rejects it; the model card, the audit trail and the
governance report say why. Then production batches: one whose predictions treat the groups alike
(no breach) and one where group F's selection rate collapses (breach, BiasBreach = 1); late labels
for scored batches whose F rows were shifted (realized bias episodes); and scored batches whose
income and debt columns are stuck at one value, so the model's outputs now hang on ``proxy``
(attribution drift episodes).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelsteward import layout
from stewardtools.cli.main import main as steward
from stewardtools.localcloud.deploy import LocalCloud

MODEL = "fair-lending"
SPEC = f"""
name: {MODEL}
task: binary
target: approved
features:
  numeric: [income, debt, proxy]
estimator:
  class_path: sklearn.linear_model.LogisticRegression
primary_metric: roc_auc
governance:
  owner: lending@example.com
fairness:
  sensitive_attributes: [sex]
  bounds:
    demographic_parity_difference: 0.1
    disparate_impact_ratio: 0.8
  tolerance: 0.02
  min_group_size: 30
retrain:
  on_alarms: []   # the drifted test batches must not retrain the fair champion away mid-module
"""
ROWS = 2400


def _data(seed: int, *, biased: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], ROWS)
    income = rng.normal(0, 1, ROWS)
    debt = rng.normal(0, 1, ROWS)
    proxy = (sex == "F") * 1.0 + rng.normal(0, 0.3, ROWS)
    approved = (income - debt + rng.normal(0, 0.7, ROWS) > 0).astype(int)
    if biased:  # historical bias: 70% of F's approvals recorded as refusals
        flip = (sex == "F") & (approved == 1) & (rng.random(ROWS) < 0.7)
        approved = np.where(flip, 0, approved)
    return pd.DataFrame(
        {
            "id": [f"r{seed}-{i}" for i in range(ROWS)],
            "income": income,
            "debt": debt,
            "proxy": proxy,
            "sex": sex,
            "approved": approved,
        }
    )


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _artifacts(cloud: LocalCloud) -> str:
    return cloud.outputs["ArtifactsBucketName"]


def _json(cloud: LocalCloud, key: str) -> Any:
    s3 = cloud.client("s3")
    return json.loads(s3.get_object(Bucket=_artifacts(cloud), Key=key)["Body"].read())


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Any:
    state = tmp_path_factory.mktemp("fairness")
    spec = state / "spec.yaml"
    spec.write_text(SPEC)
    with LocalCloud(models=[MODEL], state_dir=state / "cloud") as c:
        assert steward(["models", "onboard", str(spec), "--stack", c.stack_name]) == 0
        c.upload(f"training/{MODEL}/fair.csv", _csv(_data(1, biased=False)))
        c.wait_idle()
        c.upload(f"training/{MODEL}/biased.csv", _csv(_data(2, biased=True)))
        c.wait_idle()
        yield c


def _ctx(cloud: LocalCloud) -> Any:
    from stewardtools.operations.context import cli_context

    return cli_context(cloud.stack_name, actor="test")


def test_a_better_but_unfair_retrain_is_rejected_with_evidence(cloud: LocalCloud) -> None:
    ctx = _ctx(cloud)
    rows = {int(r["version"]): r for r in ctx.registry.list_versions(MODEL)}
    assert sorted(rows) == [1, 2]
    v1, v2 = rows[1], rows[2]
    assert v1["alias"] == "champion" and v1["fairness"]["verdict"] == "held"
    gate = v2["gate"]
    # better on the primary metric, significantly: only fairness stops it
    assert gate["challenger_score"] > gate["champion_score"] and gate["p_value"] < 0.05
    assert v2["status"] == "Rejected" and gate["outcome"] == "reject"
    assert "fairness:sex:demographic_parity_difference" in gate["failed_checks"]
    assert "fairness:sex:disparate_impact_ratio" in gate["failed_checks"]
    fair = v2["fairness"]
    assert fair["verdict"] == "breached" and fair["values"]["demographic_parity_difference"] > 0.1
    assert fair["champion_values"]["demographic_parity_difference"] < 0.1
    rates = {g: d["selection_rate"] for g, d in fair["groups"]["sex"].items()}
    assert rates["F"] < rates["M"]
    assert ctx.registry.get_model_state(MODEL)["champion"] == 1  # the fair champion keeps serving
    # the evaluation keeps the training data's pre-training bias: the biased labels show in DPL
    evaluation = _json(cloud, layout.version_prefix(MODEL, 2) + "evaluation.json")
    (attr,) = evaluation["fairness"]["training_data"]["attributes"]
    dpl = {g["group"]: g["dpl"] for g in attr["groups"]}
    assert dpl["F"] > 0.2 and dpl["M"] < -0.2  # F's recorded approval rate is far below the rest's

    # the audit trail: the gate decision carries the fairness evidence
    gates = [
        r for r in ctx.audit.records() if r.get("action") == "gate.decision" and r.get("model_version") == 2
    ]
    assert gates and gates[-1]["details"]["fairness"]["verdict"] == "breached"
    assert "breaking the committed bound <= 0.1" in gates[-1]["reason"]
    # the model card: fairness section with the bounds, the verdict and every version's values
    card = _json(cloud, layout.card_prefix(MODEL, 2) + "card.json")
    assert card["fairness"]["verdict"] == "breached"
    assert card["fairness"]["bounds"] == {"demographic_parity_difference": 0.1, "disparate_impact_ratio": 0.8}
    assert [(v["version"], v["verdict"]) for v in card["fairness"]["versions"]] == [
        (1, "held"),
        (2, "breached"),
    ]
    assert set(card["explanations"]["feature_importance"]) == {"income", "debt", "proxy"}
    # no row value of the sensitive column anywhere in the card: group names and figures only
    assert "r2-" not in json.dumps(card)


def test_the_governance_report_shows_every_champion_period_held_its_bounds(cloud: LocalCloud) -> None:
    listed = cloud.client("s3").list_objects_v2(Bucket=_artifacts(cloud), Prefix="governance/")
    before = {o["Key"] for o in listed.get("Contents", [])}
    cloud.fire_schedule("run_audit")
    cloud.wait_idle()
    keys = [
        o["Key"]
        for o in cloud.client("s3").list_objects_v2(Bucket=_artifacts(cloud), Prefix="governance/")[
            "Contents"
        ]
        if o["Key"].endswith("report.json") and o["Key"] not in before
    ]
    report = _json(cloud, sorted(keys)[-1])
    assert "fairness" in report["checks"]
    assert not [f for f in report["findings"] if f["check"] == "fairness"]
    (mine,) = [m for m in report["models"] if m["model"] == MODEL]
    assert [(p["version"], p["verdict"]) for p in mine["fairness_periods"]] == [(1, "held")]
    assert mine["fairness_rejections"] == [2]


def _inference(cloud: LocalCloud, batch: str, *, shifted: bool) -> dict[str, Any]:
    frame = _data(10 + shifted, biased=False).drop(columns=["approved"]).iloc[:1000]
    rng = np.random.default_rng(5)
    approve = rng.random(len(frame)) < 0.5
    if shifted:  # group F is approved far less often than M
        approve &= (frame["sex"] == "M").to_numpy() | (rng.random(len(frame)) < 0.3)
    frame["prediction"] = approve.astype(int)
    frame["timestamp"] = cloud.now.isoformat()
    cloud.upload(f"inference/{MODEL}/{batch}.csv", _csv(frame))
    cloud.wait_idle()
    prefix = f"reports/{MODEL}/batches/{batch}-"  # batch ids carry a digest of the key
    listed = cloud.client("s3").list_objects_v2(Bucket=_artifacts(cloud), Prefix=prefix)
    (key,) = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith("/report.json")]
    report: dict[str, Any] = _json(cloud, key)
    return report


def _metric(cloud: LocalCloud, name: str) -> list[float]:
    stats = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="ModelSteward",
        MetricName=name,
        Dimensions=[{"Name": "model", "Value": MODEL}],
        StartTime=cloud.now.replace(year=cloud.now.year - 1),
        EndTime=cloud.now.replace(year=cloud.now.year + 1),
        Period=60,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in stats["Datapoints"]]


def test_a_batch_whose_selection_rate_shifts_for_one_group_is_flagged(cloud: LocalCloud) -> None:
    stable = _inference(cloud, "stable", shifted=False)
    assert stable["bias"]["breach"] is False and stable["bias"]["verdict"] == "held"
    assert _metric(cloud, "BiasBreach") == [0.0]
    shifted = _inference(cloud, "shifted", shifted=True)
    bias = shifted["bias"]
    assert bias["breach"] is True
    assert bias["selection_rates"]["sex"]["F"] < 0.3 < bias["selection_rates"]["sex"]["M"]
    assert bias["values"]["demographic_parity_difference"] > 0.1
    assert max(_metric(cloud, "BiasBreach")) == 1.0
    assert max(_metric(cloud, "BiasParityDifference")) > 0.1


def test_the_batch_page_shows_the_bias_section(cloud: LocalCloud) -> None:
    listed = cloud.client("s3").list_objects_v2(
        Bucket=_artifacts(cloud), Prefix=f"reports/{MODEL}/batches/shifted-"
    )
    (key,) = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith("/report.html")]
    page = cloud.client("s3").get_object(Bucket=_artifacts(cloud), Key=key)["Body"].read().decode()
    assert 'id="bias"' in page and "Fairness bound broken" in page


def test_scoring_then_labels_give_realized_group_metrics(cloud: LocalCloud) -> None:
    """The champion scores a batch in which group F's incomes are lower (a population shift): it
    approves F far less often, which the batch report flags before labels and the label
    evaluation confirms with realized group metrics."""
    frame = _data(20, biased=False).iloc[:1200].copy()
    is_f = (frame["sex"] == "F").to_numpy()
    frame.loc[is_f, "income"] -= 1.5
    frame["approved"] = (frame["income"] - frame["debt"] > 0).astype(int)
    frame["timestamp"] = cloud.now.isoformat()
    cloud.upload(f"scoring/{MODEL}/shift.csv", _csv(frame.drop(columns=["approved"])))
    cloud.wait_idle()
    cloud.upload(f"labels/{MODEL}/shift.csv", _csv(frame[["id", "approved"]]))
    cloud.wait_idle()
    listed = cloud.client("s3").list_objects_v2(Bucket=_artifacts(cloud), Prefix=f"quality/{MODEL}/shift")
    (key,) = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith("quality.json")]
    quality = _json(cloud, key)
    fair = quality["fairness"]
    assert fair["breach"] is True and "fairness:sex:demographic_parity_difference" in fair["failed_checks"]
    groups = fair["groups"]["sex"]
    assert groups["F"]["selection_rate"] < groups["M"]["selection_rate"]
    assert groups["F"]["n"] + groups["M"]["n"] == 1200
    assert _metric(cloud, "RealizedBiasBreach") == [1.0]
    assert "r20-" not in json.dumps(fair)  # group figures only


def _stream(cloud: LocalCloud, name: str, seed: int, *, shifted: bool) -> None:
    frame = _data(100 + seed, biased=False).drop(columns=["approved"]).iloc[:1000]
    rng = np.random.default_rng(seed)
    approve = rng.random(len(frame)) < 0.5
    if shifted:  # group F's selection rate falls from 0.5 to about 0.15
        approve &= (frame["sex"] == "M").to_numpy() | (rng.random(len(frame)) < 0.3)
    frame["prediction"] = approve.astype(int)
    cloud.advance(minutes=10)
    frame["timestamp"] = cloud.now.isoformat()
    cloud.upload(f"inference/{MODEL}/{name}.csv", _csv(frame))
    cloud.wait_idle()
    cloud.evaluate_alarms()


def _bias_mails(cloud: LocalCloud, before: int) -> list[str]:
    return [m.subject for m in cloud.outbox_messages()[before:] if " bias " in f" {m.subject} "]


def test_a_selection_rate_shift_opens_one_bias_episode_and_stable_batches_open_none(
    cloud: LocalCloud,
) -> None:
    """Bias drift before labels, as an episode like every other signal (docs/alerts.md): stable
    batches open nothing; two shifted batches of three open it with one email; more shifted batches
    add none; two clean batches close it with one recovery note."""
    from modelsteward.services.episodes import episode_book

    for i in range(2):  # the earlier tests' shifted batches may have left an episode open: close it
        _stream(cloud, f"settle-{i}", 100 + i, shifted=False)
    assert not episode_book(_ctx(cloud), MODEL).get("bias").open
    opened_before = episode_book(_ctx(cloud), MODEL).get("bias").episodes_opened
    sent = len(cloud.outbox_messages())
    for i in range(4):
        _stream(cloud, f"steady-{i}", 200 + i, shifted=False)
    assert _bias_mails(cloud, sent) == []
    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-bias") != "ALARM"
    for i in range(4):
        _stream(cloud, f"tilted-{i}", 300 + i, shifted=True)
    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-bias") == "ALARM"
    mails = _bias_mails(cloud, sent)
    assert len(mails) == 1 and "ALARM" in mails[0], mails
    (mail,) = [m for m in cloud.outbox_messages()[sent:] if m.subject == mails[0]]
    assert "selection rate per group" in mail.body and "a person decides" in mail.body
    assert "selection rate by sex: F 0.1" in mail.body, mail.body  # group-level figures, never rows
    assert "demographic parity difference 0.3" in mail.body and "(bound 0.1)" in mail.body
    # the governance audit: the champion period broke its bounds in production while it is open
    period, findings = _champion_period_audit(cloud, "bias-open")
    assert (
        period.production_episodes[-1].signal == "bias" and period.production_episodes[-1].closed_at is None
    )
    assert [f for f in findings if "in production: bias episode open since" in f], findings
    for i in range(2):
        _stream(cloud, f"level-{i}", 400 + i, shifted=False)
    mails = _bias_mails(cloud, sent)
    assert len(mails) == 2 and "OK" in mails[1], mails
    episode = episode_book(_ctx(cloud), MODEL).get("bias")
    assert not episode.open and episode.episodes_opened == opened_before + 1
    assert episode.breaching_batches == 4 and episode.closed_by and episode.closed_by.startswith("level-1")
    period, findings = _champion_period_audit(cloud, "bias-closed")  # listed with the period, no finding
    assert len(period.production_episodes) == opened_before + 1 and period.production_episodes[-1].closed_at
    assert not [f for f in findings if "in production" in f], findings


def _champion_period_audit(cloud: LocalCloud, run_id: str) -> tuple[Any, list[str]]:
    """The governance audit over the local cloud's audit trail: the sitting champion's fairness
    period and the fairness findings' messages."""
    from modelsteward.services.run_audit import run_audit

    report = run_audit(_ctx(cloud), None, run_id=run_id).report
    (mine,) = [m for m in report.models if m.model == MODEL]
    (period,) = [p for p in mine.fairness_periods if p.end is None]
    return period, [f.message for f in report.findings if f.check == "fairness" and f.model == MODEL]


def _scored(
    cloud: LocalCloud, name: str, seed: int, *, shifted: bool = False, stuck: bool = False
) -> pd.DataFrame:
    """Score a batch with the champion (ten simulated minutes after the previous one).

    ``shifted``: group F's incomes are 1.5 lower (the champion approves F far less often).
    ``stuck``: income and debt are stuck at 0 (an upstream join that failed): shuffling them changes
    nothing, so the champion's outputs hang on ``proxy`` alone and the attribution ranking flips."""
    frame = _data(seed, biased=False).iloc[:1000].copy()
    if shifted:
        frame.loc[(frame["sex"] == "F").to_numpy(), "income"] -= 1.5
    if stuck:
        frame[["income", "debt"]] = 0.0
    frame["approved"] = (frame["income"] - frame["debt"] > 0).astype(int)
    cloud.advance(minutes=10)
    frame["timestamp"] = cloud.now.isoformat()
    cloud.upload(f"scoring/{MODEL}/{name}.csv", _csv(frame.drop(columns=["approved"])))
    cloud.wait_idle()
    cloud.evaluate_alarms()
    return frame


def _mails(cloud: LocalCloud, before: int, signal: str) -> list[Any]:
    return [m for m in cloud.outbox_messages()[before:] if f" {signal} " in f" {m.subject} "]


def test_late_labels_open_one_realized_bias_episode_and_fair_label_batches_open_none(
    cloud: LocalCloud,
) -> None:
    """Realized bias as an episode (docs/alerts.md): eight batches are scored first; their labels
    arrive six hours later, in event-time order. Three fair label batches open nothing; two of three
    shifted ones open one episode with one email (group-level figures only); two fair ones close
    it with one recovery note."""
    from modelsteward.services.episodes import episode_book

    plan = [("fair", False)] * 3 + [("skew", True)] * 3 + [("even", False)] * 2
    scored = [
        (f"late-{kind}{i}", _scored(cloud, f"late-{kind}{i}", 500 + i, shifted=shifted))
        for i, (kind, shifted) in enumerate(plan)
    ]
    cloud.advance(hours=6)  # late labels: every batch was scored before any of its labels arrive
    book = episode_book(_ctx(cloud), MODEL)
    assert not book.get("realized_bias").open
    opened_before = book.get("realized_bias").episodes_opened
    sent = len(cloud.outbox_messages())

    def label(i: int) -> None:  # one label file every ten minutes
        name, frame = scored[i]
        cloud.advance(minutes=10)
        cloud.upload(f"labels/{MODEL}/{name}.csv", _csv(frame[["id", "approved"]]))
        cloud.wait_idle()
        cloud.evaluate_alarms()

    for i in range(3):
        label(i)
    assert _mails(cloud, sent, "realized_bias") == []
    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-realized_bias") != "ALARM"
    label(3)
    assert not episode_book(_ctx(cloud), MODEL).get("realized_bias").open  # 1 of the last 3
    label(4)
    assert cloud.alarm_state(f"{cloud.stack_name}-{MODEL}-realized_bias") == "ALARM"
    label(5)  # still open: no second email
    mails = _mails(cloud, sent, "realized_bias")
    assert len(mails) == 1 and "ALARM" in mails[0].subject, [m.subject for m in mails]
    body = " ".join(mails[0].body.split())  # the email wraps its lines
    assert "realized group metrics" in body and "a person decides" in body
    assert "latest breaching batch: selection rate by sex: F 0." in body
    assert "demographic parity difference 0." in body and "(bound 0.1)" in body
    assert "late-skew" in body and "r50" not in body  # batch names and group figures, never row ids
    label(6)
    label(7)
    mails = _mails(cloud, sent, "realized_bias")
    assert len(mails) == 2 and "OK" in mails[1].subject, [m.subject for m in mails]
    episode = episode_book(_ctx(cloud), MODEL).get("realized_bias")
    assert not episode.open and episode.episodes_opened == opened_before + 1
    assert episode.breaching_batches == 3 and (episode.closed_by or "").startswith("late-even7")


def _scored_report(cloud: LocalCloud, name: str) -> dict[str, Any]:
    prefix = f"reports/{MODEL}/batches/{name}-"
    listed = cloud.client("s3").list_objects_v2(Bucket=_artifacts(cloud), Prefix=prefix)
    (key,) = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith("/report.json")]
    return dict(_json(cloud, key))


def test_stuck_inputs_open_one_attribution_drift_episode_and_steady_batches_open_none(
    cloud: LocalCloud,
) -> None:
    """Attribution drift (Clarify's nDCG, threshold 0.9): the champion's label-free attributions on
    every scored batch against those of its holdout. Steady batches keep the ranking (nDCG ~1); two
    batches whose income and debt are stuck move it onto ``proxy`` and open one episode with one
    email; two steady batches close it."""
    from modelsteward.services.episodes import episode_book

    for i in range(2):  # the realized-bias batches (shifted F incomes) may have left it open
        _scored(cloud, f"calm{i}", 600 + i)
    assert not episode_book(_ctx(cloud), MODEL).get("attribution_drift").open
    sent = len(cloud.outbox_messages())
    for i in range(3):
        _scored(cloud, f"steady{i}", 610 + i)
    steady = _scored_report(cloud, "steady0")["attribution_drift"]
    assert steady["available"] is True and steady["drifted"] is False
    assert steady["ndcg"] > 0.95 and steady["threshold"] == 0.9 and steady["version"] == 1
    ranks = {r["feature"]: r for r in steady["ranks"]}
    assert ranks["proxy"]["baseline_rank"] == 3 and ranks["proxy"]["current_rank"] == 3
    assert _mails(cloud, sent, "attribution_drift") == []
    for i in range(3):
        _scored(cloud, f"stuck{i}", 620 + i, stuck=True)
    stuck = _scored_report(cloud, "stuck0")["attribution_drift"]
    assert stuck["drifted"] is True and stuck["ndcg"] < 0.9
    assert {r["feature"]: r["current_rank"] for r in stuck["ranks"]}["proxy"] == 1
    mails = _mails(cloud, sent, "attribution_drift")
    assert len(mails) == 1 and "ALARM" in mails[0].subject, [m.subject for m in mails]
    assert "proxy #3 -> #1" in mails[0].body and "nDCG 0." in mails[0].body
    listed = cloud.client("s3").list_objects_v2(
        Bucket=_artifacts(cloud), Prefix=f"reports/{MODEL}/batches/stuck0-"
    )
    (html_key,) = [o["Key"] for o in listed["Contents"] if o["Key"].endswith("/report.html")]
    page = cloud.client("s3").get_object(Bucket=_artifacts(cloud), Key=html_key)["Body"].read().decode()
    assert 'id="attribution"' in page and "Attribution drift: nDCG" in page
    for i in range(2):
        _scored(cloud, f"back{i}", 630 + i)
    mails = _mails(cloud, sent, "attribution_drift")
    assert len(mails) == 2 and "OK" in mails[1].subject, [m.subject for m in mails]
    # a batch the suite did not score (an inference upload) says why it has no attribution drift
    direct = _inference(cloud, "direct-upload", shifted=False)["attribution_drift"]
    assert direct["available"] is False and f"upload to scoring/{MODEL}/" in direct["reason"]
    # the model card shows the version's baseline attributions beside the permutation importance
    card = _json(cloud, layout.card_prefix(MODEL, 1) + "card.json")
    baseline = card["explanations"]["attribution_baseline"]
    assert set(baseline) == {"income", "debt", "proxy"} and sum(baseline.values()) == pytest.approx(1.0)
    assert baseline["proxy"] < min(baseline["income"], baseline["debt"])
