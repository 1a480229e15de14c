"""run_audit on moto: a clean lifecycle sends nothing; planted defects come back as exactly those
findings in one email; one run per schedule tick; the light function loads no pandas/sklearn."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from governance_fixtures import (
    REGION,
    FakeRegistry,
    SeededModel,
    Stack,
    create_stack,
    make_context,
    seed_model,
)
from lambda_context import LAMBDA_CONTEXT
from moto import mock_aws

from modelsteward import layout
from modelsteward.adapters.cloudwatch_alarms import CloudWatchAlarmCatalog
from modelsteward.domain.audit_chain import chain_records, parse_records
from modelsteward.services.context import Context
from modelsteward.services.run_audit import handle_schedule, open_pii_findings, run_audit, run_id_for

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
MODELS = ("credit", "churn", "fraud", "loans", "prices")
EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "detail": {},
    "action": "run_audit",
}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        s = create_stack()
        for key, value in s.env.items():
            monkeypatch.setenv(key, value)
        yield s


def _seed_all(
    stack: Stack, models: tuple[str, ...] = MODELS, **defects: dict[str, Any]
) -> tuple[Context, FakeRegistry, dict[str, SeededModel]]:
    """Models with their whole lifecycle; ``defects`` maps a model to the seed_model knobs that break it."""
    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seeded = {m: seed_model(ctx, registry, m, NOW, **defects.get(m, {})) for m in models}
    return ctx, registry, seeded


def _stored(stack: Stack, run_id: str, name: str) -> bytes:
    key = layout.governance_prefix(run_id) + name
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=stack.artifacts_bucket, Key=key)["Body"]
    data: bytes = body.read()
    return data


def _report(stack: Stack, run_id: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(_stored(stack, run_id, "report.json"))
    return report


def _html(stack: Stack, run_id: str) -> str:
    return _stored(stack, run_id, "report.html").decode()


def test_a_clean_lifecycle_has_no_finding_and_sends_no_email(stack: Stack) -> None:
    ctx, _, _ = _seed_all(stack)
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="clean")
    assert result.report.findings == []
    assert result.report.ok and result.report.chain.ok and result.report.chain.export_checked
    assert sorted(m.model for m in result.report.models) == sorted(MODELS)
    assert all(m.champion == 1 and m.alarms for m in result.report.models)
    assert stack.emails() == []
    assert result.emailed is False
    report = _report(stack, "clean")
    assert report["ok"] is True and report["findings"] == []
    html = _html(stack, "clean")
    assert "No findings." in html
    assert ctx.audit is not None
    last = parse_records(ctx.audit.records())[-1]
    assert (last.action, last.details["findings"]) == ("audit.run", 0)
    assert [p.uri for p in last.outputs] == [
        f"s3://{stack.artifacts_bucket}/governance/clean/report.json",
        f"s3://{stack.artifacts_bucket}/governance/clean/report.html",
    ]


def test_a_page_that_cannot_be_drawn_leaves_the_report_and_records_why(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelsteward.reporting.governance as governance_page
    from modelsteward.domain.governance_report import GovernanceReport

    def broken(report: GovernanceReport) -> str:
        raise TypeError("no")

    monkeypatch.setattr(governance_page, "render_governance_report", broken)
    ctx, _, _ = _seed_all(stack)
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="no-page")
    assert result.report.ok and _report(stack, "no-page")["ok"] is True
    html = _html(stack, "no-page")
    assert "could not be drawn (TypeError in modelsteward/services/run_audit.py:" in html
    assert f"s3://{stack.artifacts_bucket}/governance/no-page/report.json" in html
    assert ctx.audit is not None
    failed, run = parse_records(ctx.audit.records())[-2:]
    assert (failed.action, run.action) == ("page.failed", "audit.run")
    assert failed.details["page"] == "governance_report" and failed.details["error"] == "TypeError"
    assert result.html_uri == f"s3://{stack.artifacts_bucket}/governance/no-page/report.html"


def test_planted_defects_are_exactly_the_findings_of_one_email(stack: Stack) -> None:
    ctx, _, seeded = _seed_all(
        stack,
        churn={"with_card": False},
        fraud={"champion_age_days": 400},
        loans={"open_pii": True},
        prices={"with_alarm": False},
    )
    tampered = seeded["credit"].seqs["batch.accepted"]
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=stack.audit_table,
        Key={"pk": {"S": "audit"}, "sk": {"N": str(tampered)}},
        UpdateExpression="SET reason = :r",
        ExpressionAttributeValues={":r": {"S": "nothing happened"}},
    )

    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="planted")

    found = sorted((f.check, f.model) for f in result.report.findings)
    assert found == sorted(
        [
            ("audit_chain", None),
            ("model_card", "churn"),
            ("champion_age", "fraud"),
            ("pii", "loans"),
            ("alarms", "prices"),
        ]
    )
    chain = next(f for f in result.report.findings if f.check == "audit_chain")
    assert f"seq {tampered} (altered)" in chain.message
    emails = stack.emails()
    assert len(emails) == 1
    subject, body = emails[0]
    assert subject == "[model-steward] governance audit: 5 finding(s)"
    for check, model in found:
        assert f"[{check}]" in body and (model is None or model in body)
    assert "s3://gov-artifacts/governance/planted/report.json" in body
    assert "@" not in body.split("Report:")[0].replace("[model-steward]", "")  # no owner e-mail or PII
    assert {f["check"] for f in _report(stack, "planted")["findings"]} == {c for c, _ in found}


def test_missing_evidence_and_unresolvable_lineage_are_findings(stack: Stack) -> None:
    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seeded = seed_model(ctx, registry, "credit", NOW, with_evidence=False)
    registry.rows["credit"][1]["lineage"].append(
        {"uri": seeded.train_ref.uri, "version_id": "gone", "role": "training_data"}
    )
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="evidence")
    checks = sorted(f.check for f in result.report.findings)
    assert checks == ["approval", "evaluation", "gate_decision", "lineage"]
    lineage_finding = next(f for f in result.report.findings if f.check == "lineage")
    assert "(version gone)" in lineage_finding.message and lineage_finding.version == 1


def test_one_audit_per_schedule_tick(stack: Stack) -> None:
    ctx, _, _ = _seed_all(stack, ("credit", "prices"), prices={"with_alarm": False})
    first = handle_schedule(EVENT, ctx=ctx, alarm_catalog=CloudWatchAlarmCatalog())
    again = handle_schedule(EVENT, ctx=ctx, alarm_catalog=CloudWatchAlarmCatalog())
    assert first == again and first["findings"] == 1 and first["emailed"] is True
    assert len(stack.emails()) == 1
    assert ctx.audit is not None
    assert sum(r.action == "audit.run" for r in parse_records(ctx.audit.records())) == 1
    assert first["run_id"] == NOW.strftime("%Y%m%dT%H%M%SZ")
    tomorrow = (NOW + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    next_day = {**EVENT, "id": "another-tick", "time": tomorrow}
    handle_schedule(next_day, ctx=ctx, alarm_catalog=CloudWatchAlarmCatalog())
    assert len(stack.emails()) == 2


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_audit_app", ROOT / "functions/run_audit/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lambda_handler_runs_the_audit(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsteward.services.context import Context

    ctx, _, _ = _seed_all(stack, ("credit",))
    monkeypatch.setattr(Context, "from_environment", classmethod(lambda cls, actor: ctx))
    app = _load_handler()
    summary = app.handler({"action": "run_audit"}, LAMBDA_CONTEXT)
    assert summary["ok"] is True and summary["findings"] == 0
    assert summary["run_id"] == NOW.strftime("%Y%m%d")
    assert app.handler({"action": "retrain"}, LAMBDA_CONTEXT)["error"] == "bad_event"


def test_the_run_audit_function_never_loads_pandas_or_sklearn(stack: Stack) -> None:
    script = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("app", {str(ROOT / "functions" / "run_audit" / "app.py")!r})
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
import modelsteward.services.run_audit, modelsteward.services.audit_trail, modelsteward.services.lineage
import modelsteward.services.model_cards, modelsteward.adapters.dynamodb_audit
import modelsteward.adapters.cloudwatch_alarms, modelsteward.idempotency, stewardtools.cli.audit
from modelsteward.services import model_cards
from modelsteward.services.context import _context_for
model_cards.load_model_spec  # the spec loader is imported lazily at run time: import it now
try:
    import modelsteward.services.specs
except ImportError:
    pass
heavy = sorted(m for m in ("pandas", "sklearn", "scipy.stats", "pyarrow") if m in sys.modules)
print(",".join(heavy))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("events", "expected_open"),
    [
        ([("pii.finding", {})], [1]),
        ([("pii.finding", {}), ("batch.accepted", {"pii_findings": 0})], []),
        ([("pii.finding", {}), ("batch.accepted", {"pii_findings": 2})], [1]),
        ([("pii.finding", {}), ("pii.finding", {}), ("pii.resolved", {"finding_seq": 1})], [2]),
        ([("pii.finding", {}), ("pii.finding", {}), ("pii.resolved", {})], []),
        ([("batch.accepted", {}), ("pii.finding", {})], [2]),
    ],
)
def test_pii_findings_stay_open_until_resolved(
    events: list[tuple[str, dict[str, Any]]], expected_open: list[int]
) -> None:
    records = chain_records(
        [{"action": a, "actor": "monitor_batch", "model": "m", "details": d} for a, d in events]
    )
    assert open_pii_findings(records, "m") == expected_open
    assert open_pii_findings(records, "other") == []


def test_run_ids_follow_the_schedule_tick() -> None:
    now = dt.datetime(2026, 3, 1, 6, 30, tzinfo=dt.UTC)
    assert run_id_for({"action": "run_audit"}, now) == ("day:2026-03-01", "20260301")
    assert run_id_for({"time": "2026-03-01T00:00:00Z", "id": "e1"}, now) == ("e1", "20260301T000000Z")
    assert run_id_for({"run_id": "manual/../x"}, now) == ("run:manual-..-x", "manual-..-x")


def test_a_broken_spec_is_a_finding_not_a_crash(stack: Stack) -> None:
    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seed_model(ctx, registry, "credit", NOW)
    ctx.store.put(stack.data_bucket, layout.spec_key("credit"), b"name: credit\ntask: binary\n")
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="bad-spec")
    assert [(f.check, f.model) for f in result.report.findings] == [("model_spec", "credit")]
    assert "features" in result.report.findings[0].message


def test_an_alarm_of_a_longer_model_name_does_not_count(stack: Stack) -> None:
    from governance_fixtures import put_alarm

    registry = FakeRegistry()
    ctx = make_context(stack, registry, NOW)
    seed_model(ctx, registry, "credit", NOW, with_alarm=False)
    put_alarm("credit-risk")  # model-steward-test-credit-risk-drift
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="prefix")
    assert [(f.check, f.model) for f in result.report.findings] == [("alarms", "credit")]


def test_a_champion_period_that_broke_its_fairness_bounds_is_a_finding(stack: Stack) -> None:
    ctx, registry, _ = _seed_all(stack, ("credit", "churn"))
    breached = {"verdict": "breached", "failed_checks": ["fairness:sex:demographic_parity_difference"]}
    registry.update_version("credit", 1, {"fairness": breached})
    registry.update_version("churn", 1, {"fairness": {"verdict": "held"}})
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="fair")
    found = [f for f in result.report.findings if f.check == "fairness"]
    assert [(f.model, f.version) for f in found] == [("credit", 1)]
    assert "did not hold its fairness bounds: fairness:sex:demographic_parity_difference" in found[0].message
    periods = {m.model: m.fairness_periods for m in result.report.models}
    assert [p.verdict for p in periods["credit"]] == ["breached"]
    assert [p.verdict for p in periods["churn"]] == ["held"]
    assert "fairness" in _report(stack, "fair")["checks"]


def _alarm_handled(ctx: Context, model: str, signal: str, state: str, decision: str) -> None:
    """What handle_alarm records for a model alarm's state change (services/handle_alarm.py)."""
    ctx.record(
        "alarm.handled",
        model=model,
        model_version=1,
        reason=f"{signal} {state}",
        details={"signal": signal, "state": state, "decision": decision},
    )


def test_a_champion_period_whose_production_broke_its_bounds_is_reported(stack: Stack) -> None:
    """The gate's verdict says the version held its bounds on the holdout; the period held them only
    if production did too. A bias episode that opened and closed while v1 served is listed with the
    period; a realized-bias episode still open is a finding; other signals and replays are not."""
    ctx, registry, _ = _seed_all(stack, ("credit", "churn"))
    registry.update_version("credit", 1, {"fairness": {"verdict": "held"}})
    registry.update_version("churn", 1, {"fairness": {"verdict": "held"}})
    _alarm_handled(ctx, "credit", "bias", "ALARM", "no_retrain")
    _alarm_handled(ctx, "credit", "bias", "ALARM", "already_told")  # a replay: not a second episode
    _alarm_handled(ctx, "credit", "bias", "OK", "recovered")
    _alarm_handled(ctx, "credit", "realized_bias", "ALARM", "no_retrain")
    _alarm_handled(ctx, "credit", "drift", "ALARM", "retrain")  # not a fairness signal
    _alarm_handled(ctx, "churn", "bias", "ALARM", "mirror_corrected")  # CloudWatch's flap, no episode
    result = run_audit(ctx, CloudWatchAlarmCatalog(), run_id="fairprod")
    found = [f for f in result.report.findings if f.check == "fairness"]
    assert [(f.model, f.version) for f in found] == [("credit", 1)]
    assert "breaks its fairness bounds in production: realized_bias episode open since" in found[0].message
    periods = {m.model: m.fairness_periods for m in result.report.models}
    (credit,) = periods["credit"]
    assert credit.verdict == "held"
    assert [(e.signal, e.closed_at is None) for e in credit.production_episodes] == [
        ("bias", False),
        ("realized_bias", True),
    ]
    assert [p.production_episodes for p in periods["churn"]] == [[]]
    stored = _report(stack, "fairprod")["models"]
    (mine,) = [m for m in stored if m["model"] == "credit"]
    assert [e["signal"] for e in mine["fairness_periods"][0]["production_episodes"]] == [
        "bias",
        "realized_bias",
    ]
