"""Plain-text emails: a person reading one knows what crossed which threshold, the evidence and the action."""

from __future__ import annotations

import datetime as dt

import pytest

from modelsteward.domain.email import (
    MAX_SUBJECT,
    SIGNAL_GUIDE,
    AlarmFacts,
    FeatureScore,
    ReportFacts,
    RuleFacts,
    WindowFacts,
    alarm_email,
    number,
    ops_email,
    recovery_email,
    rule_sentence,
    window_email,
)

SINCE = dt.datetime(2026, 3, 1, 10, 5, tzinfo=dt.UTC)
RULE = RuleFacts(
    alarm="model-steward-prod-credit-default-drift",
    signal="drift",
    metric="DriftedFeatureShare",
    namespace="ModelSteward",
    statistic="Maximum",
    period_seconds=300,
    comparison=">=",
    threshold=0.3,
    datapoints_to_alarm=2,
    evaluation_periods=3,
    treat_missing="notBreaching",
    values=(0.62, 0.41),
    state="ALARM",
    since=SINCE,
)
FEATURES = [
    FeatureScore("credit_utilization", "wasserstein", 0.41, 0.08, "drift"),
    FeatureScore("annual_income", "wasserstein", 0.22, 0.1, "drift"),
    FeatureScore("region", "jensen_shannon", 0.12, 0.1, "drift"),
    FeatureScore("age", "wasserstein", 0.06, 0.1, "warn"),
    FeatureScore("loan_amount", "wasserstein", 0.02, 0.1, "none"),
    FeatureScore("months_employed", "wasserstein", 0.01, 0.1, "none"),
    FeatureScore("open_accounts", "wasserstein", None, 0.1, "insufficient_data"),
]
REPORT = ReportFacts(
    batch_id="batch-0042-1a2b3c4d",
    created_at="2026-03-01T10:03:00+00:00",
    rows=5000,
    verdict="drift",
    json_uri="s3://arts/reports/credit-default/batches/batch-0042-1a2b3c4d/report.json",
    html_uri="s3://arts/reports/credit-default/batches/batch-0042-1a2b3c4d/report.html",
    drifted_share=0.62,
    share_threshold=0.3,
    features=FEATURES,
    multivariate_auc=0.81,
)


def facts(**overrides: object) -> AlarmFacts:
    base = dict(
        model="credit-default",
        signal="drift",
        alarm=RULE.alarm,
        since=SINCE,
        rules=[RULE],
        stage="prod",
        region="US East (N. Virginia)",
        action="Retrain started (retrain.on_alarms includes drift).",
        report=REPORT,
        card_uri="s3://arts/models/credit-default/v0003/card/card.html",
        champion_version=3,
        episode_id=f"{RULE.alarm}@2026-03-01T10:05:00+00:00",
    )
    base.update(overrides)
    return AlarmFacts(**base)  # type: ignore[arg-type]


def test_the_alarm_email_says_what_crossed_which_threshold_since_when() -> None:
    subject, body = alarm_email(facts())
    assert subject == "[model-steward] credit-default: drift ALARM"
    assert "Model credit-default (stage prod): drift is in ALARM since 2026-03-01 10:05 UTC." in body
    assert (
        "DriftedFeatureShare (Maximum per 5-minute period) >= 0.3 in at least 2 of the last 3 periods" in body
    )
    assert "values CloudWatch saw (newest first): 0.62, 0.41" in body
    assert "missing data: periods without data count as fine" in body


def test_the_alarm_email_lists_the_top_drifted_features_with_scores_and_thresholds() -> None:
    _, body = alarm_email(facts())
    section = body.split("TOP DRIFTED FEATURES")[1].split("WHAT THE SUITE DID")[0]
    lines = [line.strip() for line in section.strip().splitlines()[1:] if line.strip()]
    assert len(lines) == 5, "top five scored features"
    assert lines[0].split() == ["credit_utilization", "wasserstein", "0.41", "(threshold", "0.08)", "drift"]
    assert "open_accounts" not in section, "features without a score are not listed"
    assert "drifted share 0.62 (dataset drift at 0.3); multivariate AUC 0.81" in body


def test_the_alarm_email_links_the_report_and_the_champion_card_and_says_what_was_done() -> None:
    _, body = alarm_email(facts())
    assert f"batch report (JSON): {REPORT.json_uri}" in body
    assert f"batch report (HTML): {REPORT.html_uri}" in body
    assert "champion model card v3: s3://arts/models/credit-default/v0003/card/card.html" in body
    assert "WHAT THE SUITE DID\n  Retrain started (retrain.on_alarms includes drift)." in body
    assert SIGNAL_GUIDE["drift"][1][:40] in body, "a first step for the person reading"
    assert body.rstrip().endswith("US East (N. Virginia)")


def test_a_composite_alarm_email_lists_its_children_in_alarm() -> None:
    child2 = RuleFacts(
        alarm="model-steward-prod-credit-default-multivariate_drift",
        state="ALARM",
        since=SINCE,
        reason="no details",
    )
    _, body = alarm_email(
        facts(
            signal="data_drift",
            alarm="model-steward-prod-credit-default-data_drift",
            alarm_rule='ALARM("a") OR ALARM("b")',
            rules=[RULE, child2],
        )
    )
    assert (
        "model-steward-prod-credit-default-data_drift is a composite alarm; its child alarms in ALARM:"
        in body
    )
    assert body.index(RULE.alarm) < body.index(child2.alarm)
    assert "reason: no details" in body


def test_without_a_report_the_email_says_why() -> None:
    _, body = alarm_email(
        facts(report=None, report_note="no batch of this model has been monitored yet", card_uri=None)
    )
    assert "LATEST BATCH REPORT: no batch of this model has been monitored yet" in body
    assert "TOP DRIFTED FEATURES" not in body and "LINKS" not in body


def test_subjects_stay_within_sns_limit() -> None:
    subject, _ = alarm_email(facts(model="m" * 120))
    assert len(subject) == MAX_SUBJECT and subject.endswith("...")


def test_the_recovery_note_is_short_and_says_how_long_it_lasted() -> None:
    subject, body = recovery_email(
        model="credit-default",
        signal="data_drift",
        alarm="a",
        recovered_at=SINCE + dt.timedelta(hours=5),
        since=SINCE,
        duration="5 h",
        reason="AlarmRule evaluated to FALSE",
        action="retrain started",
    )
    assert subject == "[model-steward] credit-default: data_drift OK (recovered)"
    assert body.splitlines()[0] == (
        "Model credit-default: data_drift is OK again since 2026-03-01 15:05 UTC, "
        "after 5 h in ALARM (since 2026-03-01 10:05 UTC)."
    )
    assert "During the alarm the suite decided: retrain started." in body
    assert len(body.splitlines()) < 10


def test_an_ops_note_for_function_errors_points_to_logs_and_replay() -> None:
    subject, body = ops_email(
        alarm="steward-ops-prod-check_window-errors",
        signal="function_errors",
        function="check_window",
        state="ALARM",
        changed_at=SINCE,
        stage="prod",
        reason="Threshold Crossed: 1 out of the last 1 datapoints [2.0 (...)]",
    )
    assert subject == "[model-steward] ops: check_window errors ALARM"
    assert "invocations of check_window failed" in body
    assert "nothing was retrained" in body
    assert "steward replay" in body and "/aws/lambda/<stack>-check_window" in body


def test_an_ops_note_for_the_dead_letter_queue_and_its_recovery() -> None:
    subject, body = ops_email(
        alarm="steward-ops-prod-dlq-depth", signal="dlq_depth", function=None, state="ALARM", changed_at=SINCE
    )
    assert subject == "[model-steward] ops: dead-letter queue ALARM"
    assert "steward replay --stack" in body
    subject, body = ops_email(
        alarm="steward-ops-prod-dlq-depth", signal="dlq_depth", function=None, state="OK", changed_at=SINCE
    )
    assert subject == "[model-steward] ops: dead-letter queue OK (recovered)"
    assert "No action needed" in body


def test_the_window_email_explains_slow_drift_and_links_the_window_report() -> None:
    subject, body = window_email(
        WindowFacts(
            model="credit-default",
            window_kind="day",
            window_start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            window_end=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            verdict="drift",
            batches=48,
            rows=4800,
            json_uri="s3://a/w/report.json",
            html_uri="s3://a/w/report.html",
            drifted_share=0.5,
            share_threshold=0.3,
            features=FEATURES[:2],
            findings=["120 rows in this window, 10% of the median"],
        )
    )
    assert subject == "[model-steward] credit-default: window drift (day 2026-03-01)"
    assert "(48 batches, 4800 rows merged) has verdict drift" in body
    assert "Drifted share of the merged window: 0.5 (dataset drift at 0.3)." in body
    assert "credit_utilization" in body and "FINDINGS\n  120 rows" in body
    assert "window report (HTML): s3://a/w/report.html" in body


def test_a_window_email_about_volume_only_does_not_repeat_the_drift() -> None:
    subject, body = window_email(
        WindowFacts(
            model="m",
            window_kind="hour",
            window_start=dt.datetime(2026, 3, 1, 13, tzinfo=dt.UTC),
            window_end=dt.datetime(2026, 3, 1, 14, tzinfo=dt.UTC),
            verdict="drift",
            batches=1,
            rows=10,
            json_uri="j",
            html_uri="h",
            drift_news=False,
            findings=["volume dropped"],
        )
    )
    assert subject == "[model-steward] m: window findings (hour 2026-03-01 13:00)"
    assert "Drifted share" not in body and "volume dropped" in body


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            RuleFacts(
                alarm="a",
                metric="QualityViolations",
                statistic="Sum",
                period_seconds=3600,
                comparison=">",
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
            ),
            "QualityViolations (Sum per 1-hour period) > 0 in the latest period",
        ),
        (
            RuleFacts(
                alarm="a",
                metric="BatchAccepted",
                statistic="Sum",
                period_seconds=3600,
                comparison="<",
                threshold=1,
                evaluation_periods=24,
                datapoints_to_alarm=24,
            ),
            "BatchAccepted (Sum per 1-hour period) < 1 in each of the last 24 periods",
        ),
    ],
)
def test_rule_sentences(rule: RuleFacts, text: str) -> None:
    assert rule_sentence(rule) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.3, "0.3"),
        (12.0, "12"),
        (0.04217, "0.042"),
        (123456.7, "1.23e+05"),
        (None, "n/a"),
        (0.0001234, "0.000123"),
    ],
)
def test_numbers_are_short(value: float | None, text: str) -> None:
    assert number(value) == text


def test_signals_that_are_not_about_drift_leave_out_the_features_table() -> None:
    _, body = alarm_email(facts(signal="freshness", show_features=False))
    assert "LATEST BATCH REPORT (batch-0042-1a2b3c4d" in body
    assert "TOP DRIFTED FEATURES" not in body and "credit_utilization" not in body


def test_a_bias_email_says_which_attribute_could_not_be_judged() -> None:
    """An attribute without a judged group (all too small, or too many distinct values) reads as not
    judged, never as an empty list that looks like a lost figure."""
    dpd = "demographic_parity_difference"
    report = ReportFacts(
        batch_id="tilted-1",
        created_at=None,
        rows=1000,
        verdict="drift",
        json_uri="s3://a/r.json",
        html_uri="s3://a/r.html",
        selection_rates={"sex": {"F": 0.127, "M": 0.507}, "age": {}},
        bias_values={dpd: 0.38},
        bias_bounds={dpd: 0.1},
    )
    _, body = alarm_email(facts(signal="bias", report=report, rules=[]))
    assert "selection rate by sex: F 0.127, M 0.507" in body
    assert "selection rate by age: not judged (no group large enough" in body
    assert "demographic parity difference 0.38 (bound 0.1)" in body
