"""Model cards: built from spec + registry row + audit trail, rendered escaped, regenerated in place."""

from __future__ import annotations

import datetime as dt
import html
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from memory_ports import MemoryStore, RegistryStub

from modelsteward import layout
from modelsteward.adapters.metrics import RecordingMetrics
from modelsteward.config import Settings
from modelsteward.domain.audit_chain import GENESIS_HASH, AuditRecord, build_record, chain_records
from modelsteward.domain.gate_record import GateSummary
from modelsteward.domain.model_card import (
    ModelCard,
    RegistryRowView,
    build_card,
    card_json,
    card_status,
    render_markdown,
)
from modelsteward.errors import NotFound
from modelsteward.services.context import Context
from modelsteward.spec import parse_spec
from stewardtools.report_examples import example_gate

ROOT = Path(__file__).resolve().parents[2]
XSS = "<script>alert('x')</script> & | pipes"
SPEC = parse_spec(
    {
        "name": "credit",
        "task": "binary",
        "target": "default",
        "features": {"numeric": ["income"], "categorical": ["region"]},
        "segments": ["region"],
        "governance": {
            "owner": "risk@example.com",
            "intended_use": XSS,
            "limitations": "adults only",
            "risk_rating": "high",
        },
        "alert_email": "ops@example.com",
    }
)
ROW = {
    "version": 2,
    "status": "Approved",
    "alias": "champion",
    "created_at": "2026-01-10T00:00:00+00:00",
    "metrics": {"roc_auc": 0.83, "accuracy": 0.79},
    "segment_metrics": {"region": {"north": {"roc_auc": 0.8}}},
    "params": {"C": 0.5},
    "estimator_class": "sklearn.linear_model.LogisticRegression",
    "library_versions": {"scikit-learn": "1.9.0"},
    "lineage": [
        {"uri": "s3://data/training/credit/a.csv", "version_id": "v1", "sha256": "aa", "role": "training"}
    ],
    "artifact": {"uri": "s3://art/models/credit/v0002/model.skops", "version_id": "m2", "sha256": "bb"},
    "evaluation_uri": "s3://art/models/credit/v0002/evaluation.json",
    "evaluation_version_id": "e2",
    "gate": example_gate(  # the registry row keeps the gate's summary
        champion_version=None, champion_score=None, challenger_version=2, challenger_score=0.83
    ).model_dump(mode="json"),
    "decided_by": "train_model",
    "decided_at": "2026-01-11T00:00:00+00:00",
}


def _records() -> list[AuditRecord]:
    events: list[dict[str, Any]] = [
        {
            "action": "gate.decision",
            "actor": "train_model",
            "model": "credit",
            "model_version": 2,
            "details": {"outcome": "promote"},
        },
        {"action": "model.promoted", "actor": "train_model", "model": "credit", "model_version": 2},
        {
            "action": "drift.verdict",
            "actor": "monitor_batch",
            "model": "credit",
            "model_version": 2,
            "details": {"severity": "drift"},
            "reason": "income drifted",
        },
        {
            "action": "drift.verdict",
            "actor": "monitor_batch",
            "model": "credit",
            "model_version": 2,
            "details": {"severity": "none"},
        },
        {"action": "alarm.handled", "actor": "handle_alarm", "model": "credit"},  # no version: in service
        {
            "action": "drift.verdict",
            "actor": "monitor_batch",
            "model": "credit",
            "model_version": 1,
            "details": {"severity": "drift"},
        },  # another version's incident
        {
            "action": "model.approved",
            "actor": "cli:carol",
            "model": "credit",
            "model_version": 2,
            "reason": "looks good",
        },
        {"action": "alarm.handled", "actor": "handle_alarm", "model": "other"},
    ]
    return chain_records(events, start=dt.datetime(2026, 1, 11, tzinfo=dt.UTC))


def _card(**kwargs: Any) -> ModelCard:
    recs = _records()
    defaults: dict[str, Any] = {
        "model": "credit",
        "version": 2,
        "spec": SPEC,
        "row": ROW,
        "records": recs,
        "generated_at": "2026-02-01T00:00:00Z",
        "in_service": [(recs[1].at, None)],
    }
    return build_card(**{**defaults, **kwargs})


@pytest.mark.parametrize(
    ("registry", "card"),
    [
        ("PendingManualApproval", "PendingReview"),
        ("Approved", "Approved"),
        ("Rejected", "Archived"),
        ("Archived", "Archived"),
        (None, "Draft"),
        ("Training", "Draft"),
    ],
)
def test_card_status_follows_the_registry(registry: str | None, card: str) -> None:
    assert card_status(registry) == card


def test_card_carries_spec_registry_and_audit_content() -> None:
    card = _card()
    o, u, t, e, a = (
        card.model_overview,
        card.intended_uses,
        card.training_details,
        card.evaluation_details,
        card.additional_information,
    )
    assert card.status == "Approved"
    assert (o.model_name, o.model_version, o.owner, o.alias) == ("credit", 2, "risk@example.com", "champion")
    assert o.artifact is not None and o.artifact.sha256 == "bb"
    assert (u.intended_use, u.limitations, u.risk_rating) == (XSS, "adults only", "high")
    assert u.factors_affecting_performance == ["region"]
    assert t.params == {"C": 0.5} and t.library_versions == {"scikit-learn": "1.9.0"}
    assert [(d.role, d.uri, d.version_id) for d in t.training_data] == [
        ("training", "s3://data/training/credit/a.csv", "v1")
    ]
    assert e.metrics == {"roc_auc": 0.83, "accuracy": 0.79} and e.primary_metric == "roc_auc"
    assert e.segment_metrics == {"region": {"north": {"roc_auc": 0.8}}}
    assert e.evaluation is not None and e.evaluation.version_id == "e2"
    assert e.gate is not None and e.gate.outcome == "promote"
    assert [d.action for d in a.decisions] == ["gate.decision", "model.promoted", "model.approved"]
    assert (a.approved_by, a.alert_email_configured) == ("cli:carol", True)
    # monitoring: this version's records plus unversioned ones while it served; not v1's, not other's
    assert a.monitoring.counts == {"drift.verdict": 2, "alarm.handled": 1}
    assert [(i.action, i.severity) for i in a.monitoring.incidents] == [
        ("drift.verdict", "drift"),
        ("alarm.handled", None),
    ]


def test_a_gate_approved_version_names_the_decider_as_approver() -> None:
    card = _card(records=[])
    assert card.additional_information.approved_by == "train_model"
    assert card.evaluation_details.gate == GateSummary.model_validate(ROW["gate"])


def test_a_card_without_spec_or_row_is_a_draft_with_what_is_known() -> None:
    card = _card(spec=None, row=None, records=[])
    assert card.status == "Draft" and card.model_overview.owner == "unknown"
    assert card.training_details.training_data == []


def test_every_rendering_escapes_user_text() -> None:
    from modelsteward.reporting.card import render_model_card

    card = _card()
    page = render_model_card(card)
    assert "<script>" not in page and html.escape(XSS) in page
    assert "<script" not in page.replace("<script>", "")  # no script element at all
    assert "http" not in page.split("</style>")[1].replace("https://", "")  # no external resource
    md = render_markdown(card)
    assert "\\|" in md  # a pipe in a value cannot break the table
    assert json.loads(card_json(card))["intended_uses"]["intended_use"] == XSS


def test_styled_card_page_escapes_too() -> None:
    from modelsteward.reporting.card import render_model_card

    page = render_model_card(_card())
    assert "<script>alert" not in page


def test_styled_card_shows_segments_in_the_shape_training_writes() -> None:
    """``{column: {value: metrics}}`` (domain.metrics.metrics_by_segment) is one row per value."""
    from modelsteward.reporting.card import render_model_card

    page = render_model_card(_card())
    assert "<td>region=north</td>" in page  # not "region" with a "North" column of dicts
    assert '<th scope="col" class=num>ROC AUC</th>' in page.split("Per segment")[1]
    assert 'aria-label="ROC AUC per segment"' in page  # the bar chart of the primary metric


def test_row_view_reads_nested_and_flat_references() -> None:
    view = RegistryRowView(
        {
            "sk": "V#0007",
            "lineage": {
                "training_data": {"uri": "s3://b/k", "version_id": "1"},
                "reference_uri": "s3://b/r",
                "reference_version_id": "9",
            },
            "card_uri": "s3://a/c.json",
            "card_version_id": "c1",
        }
    )
    assert view.version == 7
    assert [(r, p.uri, p.version_id) for r, p in view.lineage()] == [
        ("lineage.training_data", "s3://b/k", "1"),
        ("lineage.reference", "s3://b/r", "9"),
    ]
    assert view.card is not None and view.card.version_id == "c1"


# --- regenerate_card with in-memory ports ---------------------------------------------------------
class MemoryAudit:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        prev = self.items[-1]["hash"] if self.items else GENESIS_HASH
        rec = build_record(
            event, seq=len(self.items) + 1, prev_hash=prev, at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
        )
        self.items.append(rec.body())
        return rec.body()

    def records(self) -> list[dict[str, Any]]:
        return list(self.items)


class OneRowRegistry(RegistryStub):
    def __init__(self, row: dict[str, Any]) -> None:
        self.row = dict(row)

    def get_version(self, model: str, version: int) -> dict[str, Any]:
        if (model, version) != ("credit", 2):
            raise NotFound("no such version")
        return dict(self.row)

    def list_versions(self, model: str) -> list[dict[str, Any]]:
        return [dict(self.row)] if model == "credit" else []

    def update_version(
        self,
        model: str,
        version: int,
        changes: Mapping[str, Any],
        *,
        expected: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.row.update(changes)
        return dict(self.row)


def _card_context() -> tuple[Context, MemoryStore, MemoryAudit, OneRowRegistry]:
    """A Context on memory ports holding the credit spec and one registry row (version 2)."""
    store, audit, registry = MemoryStore(), MemoryAudit(), OneRowRegistry(ROW)
    store.put("data", layout.spec_key("credit"), json.dumps(SPEC.model_dump(mode="json")).encode())
    ctx = Context(
        settings=Settings(DATA_BUCKET="data", ARTIFACTS_BUCKET="art"),
        store=store,
        metrics=RecordingMetrics(),
        registry=registry,
        audit=audit,
        clock=lambda: dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
    )
    return ctx, store, audit, registry


def test_regenerate_card_writes_three_files_notes_the_row_and_the_audit_trail() -> None:
    from modelsteward.services.model_cards import regenerate_card

    ctx, store, audit, registry = _card_context()
    refs = regenerate_card(ctx, "credit", 2)
    prefix = layout.card_prefix("credit", 2)
    assert {r.key for r in refs.values()} == {prefix + "card.json", prefix + "card.md", prefix + "card.html"}
    card = json.loads(store.get("art", prefix + "card.json").body)
    assert card["model_overview"]["owner"] == "risk@example.com" and card["status"] == "Approved"
    assert card["additional_information"]["spec_uri"] == "s3://data/specs/credit/spec.yaml"
    assert (
        registry.row["card_uri"] == f"s3://art/{prefix}card.json" and registry.row["card_version_id"] == "1"
    )
    assert audit.items[-1]["action"] == "card.generated"
    assert {p["uri"] for p in audit.items[-1]["outputs"]} == {r.uri for r in refs.values()}

    regenerate_card(ctx, "credit", 2)  # S3 versioning keeps the earlier card
    assert len(store.objects[("art", prefix + "card.json")]) == 2
    assert registry.row["card_version_id"] == "2"


def test_a_card_page_that_cannot_be_drawn_is_a_recorded_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision and card.json stand; card.html says what failed (never an older card's status,
    never the card's values); the audit trail has page.failed with the error type and its frame."""
    import modelsteward.reporting.card as card_page
    from modelsteward.services.model_cards import regenerate_card

    def broken(card: ModelCard) -> str:
        raise KeyError(card.model_overview.owner)  # a message that quotes a value is never kept

    ctx, store, audit, registry = _card_context()
    regenerate_card(ctx, "credit", 2)  # a good card first: the failure must not leave it in place
    monkeypatch.setattr(card_page, "render_model_card", broken)
    refs = regenerate_card(ctx, "credit", 2)
    prefix = layout.card_prefix("credit", 2)
    assert json.loads(store.get("art", prefix + "card.json").body)["status"] == "Approved"
    page = store.get("art", prefix + "card.html").body.decode()
    assert "could not be drawn (KeyError in " in page and f"s3://art/{prefix}card.json" in page
    assert "risk@example.com" not in page and "Approved" not in page
    failed, generated = audit.items[-2:]
    assert (failed["action"], generated["action"]) == ("page.failed", "card.generated")
    assert failed["details"]["page"] == "model_card" and failed["details"]["error"] == "KeyError"
    assert failed["details"]["where"].startswith("modelsteward/services/model_cards.py:")  # the call
    assert failed["details"]["stack"][-1].startswith("test_model_card.py:")  # the raise
    assert "risk@example.com" not in json.dumps(failed)
    assert {p["uri"] for p in failed["outputs"]} == {refs["json"].uri, refs["html"].uri}
    assert registry.row["card_uri"] == f"s3://art/{prefix}card.json"


def test_json_schemas_in_docs_are_current() -> None:
    spec = importlib.util.spec_from_file_location("schema_gen", ROOT / "docs" / "schemas" / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for filename, schema in gen.schemas().items():
        path = ROOT / "docs" / "schemas" / filename
        assert path.read_text() == gen.render(schema), (
            f"{filename} is stale: run python docs/schemas/generate.py"
        )
    assert "hash" in gen.schemas()["audit-record.schema.json"]["required"]


def _fair_spec() -> Any:
    """The card tests' spec with one committed bound on ``sex``."""
    return SPEC.model_copy(
        update={
            "fairness": parse_spec(
                {
                    "name": "credit",
                    "task": "binary",
                    "target": "default",
                    "features": {"numeric": ["income"], "categorical": ["region"]},
                    "fairness": {
                        "sensitive_attributes": ["sex"],
                        "bounds": {"demographic_parity_difference": 0.1},
                    },
                }
            ).fairness
        }
    )


def test_the_card_shows_fairness_per_version_and_explanations() -> None:
    from modelsteward.reporting.card import render_model_card

    spec = _fair_spec()
    dpd = "demographic_parity_difference"
    fairness = {
        "verdict": "breached",
        "bounds": {dpd: 0.1},
        "tolerance": 0.02,
        "values": {dpd: 0.31},
        "champion_values": {dpd: 0.04},
        "too_small": {"sex": ["X"]},
        "failed_checks": [f"fairness:sex:{dpd}"],
        "groups": {
            "sex": {
                "F": {"n": 120, "selection_rate": 0.2, "metric": 0.8},
                "M": {"n": 130, "selection_rate": 0.51},
            }
        },
    }
    row = {
        **ROW,
        "version": 3,
        "status": "Rejected",
        "alias": None,
        "fairness": fairness,
        "feature_importance": {"income": 0.7, "region": 0.3},
    }
    champion = {**ROW, "fairness": {"verdict": "held", "values": {"demographic_parity_difference": 0.04}}}
    card = _card(spec=spec, row=row, version=3, versions=[row, champion])
    f = card.fairness
    assert f is not None and f.verdict == "breached" and f.too_small == {"sex": ["X"]}
    assert [(v.version, v.verdict) for v in f.versions] == [(2, "held"), (3, "breached")]
    assert card.explanations is not None and card.explanations.feature_importance["income"] == 0.7
    md = render_markdown(card)
    assert "## Fairness per version" in md and "breached" in md and "## Explanations" in md
    page = render_model_card(card)
    assert "Fairness breached" in page and 'id="explanations"' in page and "0.31" in page
    assert _card().fairness is None  # no commitments, no stored figures: no section


def test_the_card_shows_a_group_too_small_to_judge_by_its_size_only() -> None:
    """A row stored before sizes-only (or by hand) may carry a 7-row group's rates: the card names
    the group and its size, says it is too small to judge, and shows none of its figures."""
    from modelsteward.reporting.card import render_model_card

    spec = _fair_spec()
    fairness = {
        "verdict": "held",
        "bounds": {"demographic_parity_difference": 0.1},
        "too_small": {"sex": ["X"]},
        "groups": {
            "sex": {
                "F": {"n": 120, "selection_rate": 0.2125, "metric": 0.8125},
                "X": {"n": 7, "selection_rate": 0.5714, "metric": 0.8571},
            }
        },
    }
    row = {**ROW, "version": 3, "fairness": fairness}
    card = _card(spec=spec, row=row, version=3, versions=[row])
    md, page = render_markdown(card), render_model_card(card)
    assert "| sex | X | 7 | too small to judge | too small to judge |" in md
    assert "| sex | F | 120 | 0.2125 | 0.8125 |" in md
    assert "too small to judge" in page and "0.2125" in page
    for text in (md, page):
        assert "0.5714" not in text and "0.8571" not in text
