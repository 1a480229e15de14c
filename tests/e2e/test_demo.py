"""`steward demo` (what `make demo` runs): the whole lifecycle on the local cloud, as a user sees it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from stewardtools.cli.demo import DemoResult, Progress, run_demo, summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, str, Path]:
    state = tmp_path_factory.mktemp("demo") / "state"
    out = io.StringIO()
    result = run_demo(
        state, rows=2000, screenshots=shutil.which("chromium") is not None, progress=Progress(stream=out)
    )
    return result, out.getvalue(), state


def test_the_story_ends_with_a_better_champion_serving(demo: tuple[DemoResult, str, Path]) -> None:
    result, _, _ = demo
    assert result.champion_before == 1
    assert result.champion_after == 2, f"gate said {result.gate_outcome}"
    assert result.gate_outcome == "promote"
    assert result.scored_by_new_champion


def test_one_drift_episode_sends_exactly_one_alarm_email(demo: tuple[DemoResult, str, Path]) -> None:
    result, _, _ = demo
    drift_emails = [s for s in result.alarm_emails if "data_drift" in s]
    assert drift_emails == ["[model-steward] credit-default: data_drift ALARM"]
    assert len(result.alarm_emails) == len(set(result.alarm_emails)), "one email per episode"
    bodies = [p.read_text() for p in result.emails]
    alarm = next(b for b in bodies if "data_drift ALARM" in b)
    assert "TOP DRIFTED FEATURES" in alarm and "retrain" in alarm.lower()
    assert "/objects/" in alarm and "report.html" in alarm  # local files of the report and the card


def test_the_drift_episode_closes_after_the_retrain_with_one_recovery_email(
    demo: tuple[DemoResult, str, Path],
) -> None:
    """The new champion's baseline comes from the new regime: the next batches are clean (issue 15)."""
    result, progress_text, _ = demo
    episode = result.drift_episode
    assert episode["episode_id"] and not episode["open"], episode
    assert episode["closed_by"].startswith("after-retrain-2"), episode
    assert [s for s in result.recovery_emails if "drift" in s] == [
        "[model-steward] credit-default: data_drift OK (recovered)"
    ]
    assert "drift episode: closed - opened by batch shifted-2" in summary(result)
    assert "drift episode closed" in progress_text


def test_governance_and_audit_pass_and_bad_upload_is_quarantined(demo: tuple[DemoResult, str, Path]) -> None:
    result, _, state = demo
    assert result.audit_ok and result.audit_records > 20
    assert result.governance_findings == 0
    assert result.quarantined, "the broken upload has a reason file"
    reason = next((state / "data" / "quarantine").rglob("reason.json"))
    assert json.loads(reason.read_text())["code"]


def test_summary_names_artifacts_that_exist(demo: tuple[DemoResult, str, Path]) -> None:
    result, progress_text, _ = demo
    assert "[10/10]" in progress_text
    text = summary(result)
    assert "champion: v1 → v2" in text
    for paths in (result.reports, result.cards, result.governance, result.emails):
        assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)
    shifted = [p for p in result.reports if "/batches/shifted-" in str(p)]
    assert shifted, "each batch has its report"
    html = shifted[-1].read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    timeline = result.timeline.read_text()
    assert "<svg" in timeline and "shifted-" in timeline  # drift over time across the batches
    if shutil.which("chromium"):
        assert len(result.screenshots) == 4 and all(p.stat().st_size > 10_000 for p in result.screenshots)


def test_the_audit_trail_tells_the_whole_story_in_order(demo: tuple[DemoResult, str, Path]) -> None:
    result, _, _ = demo
    actions = result.audit_actions

    def first(action: str, after: int = -1) -> int:
        return next(i for i, a in enumerate(actions) if a == action and i > after)

    trained = first("model.promoted")
    drift = first("drift.verdict", trained)
    alarm = first("alarm.handled", drift)
    retrain = first("retrain.requested", alarm - 1)
    gate = first("gate.decision", retrain)
    promoted = first("model.promoted", gate)
    audit_run = first("audit.run", promoted)
    assert trained < drift < alarm and retrain < gate < promoted < audit_run
    assert "batch.quarantined" in actions and "labels.evaluated" in actions
    assert actions.count("retrain.requested") == 1, "one retrain per episode, the rest suppressed"
