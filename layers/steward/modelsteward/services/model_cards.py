"""Regenerate a version's model card (card.json, card.md, card.html) in the artifacts bucket.

Called after training and after every decision about a version (approve, reject, promote,
rollback), so the card always reflects the registry row and the audit trail. The artifacts bucket
is versioned: earlier cards stay readable as earlier object versions.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import layout
from ..domain.audit_chain import AuditRecord, iso_utc, parse_records
from ..domain.model_card import ModelCard, build_card, card_json, render_markdown
from ..errors import ConfigError, ConflictError, NotFound, UnknownModel
from ..ports import ObjectRef
from ..spec import ModelSpec
from .audit_trail import champion_periods
from .context import Context
from .pages import write_page
from .specs import load_spec


def load_model_spec(ctx: Context, model: str) -> tuple[ModelSpec, ObjectRef] | None:
    """The model's spec and the exact object it came from, or None when no spec is registered.

    A spec that does not validate raises SpecError (InvalidInput) naming the field.
    """
    try:
        return load_spec(ctx, model)
    except (NotFound, UnknownModel):
        return None


def model_records(ctx: Context, model: str) -> list[AuditRecord]:
    if ctx.audit is None:
        return []
    return [r for r in parse_records(ctx.audit.records()) if r.model == model]


def build_model_card(ctx: Context, model: str, version: int) -> ModelCard:
    if ctx.registry is None:
        raise ConfigError("no model registry is configured (REGISTRY_TABLE is empty)")
    row = ctx.registry.get_version(model, version)
    loaded = load_model_spec(ctx, model)
    records = model_records(ctx, model)
    in_service = [(p.start, p.end) for p in champion_periods(records, model) if p.version == version]
    return build_card(
        model=model,
        version=version,
        spec=loaded[0] if loaded else None,
        row=row,
        records=records,
        generated_at=iso_utc(ctx.clock()),
        spec_ref=loaded[1].as_dict() if loaded else None,
        in_service=in_service,
        versions=_all_versions(ctx, model),
    )


def _all_versions(ctx: Context, model: str) -> list[dict[str, Any]]:
    """Every version row, for the card's per-version fairness table (empty if the registry cannot list)."""
    lister = getattr(ctx.registry, "list_versions", None)
    return [dict(r) for r in lister(model)] if lister is not None else []


def regenerate_card(ctx: Context, model: str, version: int) -> dict[str, ObjectRef]:
    """Write card.json/.md/.html under ``layout.card_prefix``; note the card on the row and in the audit."""
    bucket = ctx.settings.artifacts_bucket
    if not bucket:
        raise ConfigError("missing environment variables: ARTIFACTS_BUCKET")
    card = build_model_card(ctx, model, version)
    prefix = layout.card_prefix(model, version)
    refs = {
        "json": ctx.store.put(bucket, prefix + "card.json", card_json(card), content_type="application/json"),
        "md": ctx.store.put(
            bucket,
            prefix + "card.md",
            render_markdown(card).encode("utf-8"),
            content_type="text/markdown; charset=utf-8",
        ),
    }
    from ..reporting.card import render_model_card  # the page's charts load only here

    # documentation must not fail a decision: a page that cannot be drawn is a recorded notice
    refs["html"], _ = write_page(
        ctx,
        bucket,
        prefix + "card.html",
        lambda: render_model_card(card),
        kind="model_card",
        subject=f"{model} v{version}",
        record=refs["json"],
        model=model,
        model_version=version,
    )
    card_ref = refs["json"]
    changes: dict[str, Any] = {"card_uri": card_ref.uri, "card_version_id": card_ref.version_id}
    if ctx.registry is not None:  # build_model_card required it
        with contextlib.suppress(ConflictError):  # a concurrent decision regenerates the card itself
            ctx.registry.update_version(model, version, changes)
    ctx.record(
        "card.generated",
        model=model,
        model_version=version,
        reason=f"card status {card.status}",
        outputs=[r.as_dict() for r in refs.values()],
        details={"status": card.status},
    )
    return refs
