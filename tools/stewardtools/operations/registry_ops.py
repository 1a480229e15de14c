"""Decisions people make about model versions: approve, reject, roll back, set a challenger.

Each is one conditional write (the registry refuses a decision made on a stale read with
ConflictError), then an audit record naming who decided and why, then the affected model cards.
The CLI (`steward models ...`) and any future UI call these, never the registry directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from modelsteward.errors import ConfigError, ConflictError, InvalidInput, NotFound, StewardError
from modelsteward.ports import Registry
from modelsteward.services.context import Context
from modelsteward.services.model_cards import regenerate_card

log = logging.getLogger(__name__)

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
ARCHIVED = "Archived"


def _registry(ctx: Context) -> Registry:
    if ctx.registry is None:
        raise ConfigError("no model registry is configured (REGISTRY_TABLE is empty)")
    return ctx.registry


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            f"{what} needs a reason (--reason): it goes into the audit trail and the model card"
        )
    return reason


def _row(ctx: Context, model: str, version: int) -> dict[str, Any]:
    try:
        return _registry(ctx).get_version(model, version)
    except NotFound as exc:
        raise InvalidInput(f"model '{model}' has no version {version}", code="unknown_version") from exc


def _cards(ctx: Context, model: str, versions: Iterable[int | None]) -> None:
    for version in {int(v) for v in versions if v is not None}:
        try:
            regenerate_card(ctx, model, version)
        except StewardError as exc:  # the decision stands; the card catches up on the next change
            log.warning(
                "model card not regenerated", extra={"model": model, "version": version, "error": exc.message}
            )


def _notify(ctx: Context, subject: str, message: str, model: str) -> None:
    if ctx.notifier is None:
        return
    try:
        ctx.notifier.publish(subject, message, {"model": model, "source": "registry"})
    except StewardError as exc:
        log.warning("notification failed", extra={"model": model, "error": exc.message})


# --- reads ----------------------------------------------------------------------------------
def list_models(ctx: Context) -> list[dict[str, Any]]:
    """One summary per registered model: champion, challenger, traffic share, versions by status."""
    registry = _registry(ctx)
    out = []
    for model in registry.list_models():
        state = registry.get_model_state(model)
        versions = registry.list_versions(model)
        counts: dict[str, int] = {}
        for row in versions:
            counts[str(row.get("status"))] = counts.get(str(row.get("status")), 0) + 1
        latest = versions[-1] if versions else {}
        out.append(
            {
                "model": model,
                "champion": state.get("champion"),
                "challenger": state.get("challenger"),
                "traffic_share": state.get("traffic_share") or 0.0,
                "versions": len(versions),
                "by_status": counts,
                "latest_version": latest.get("version"),
                "latest_status": latest.get("status"),
                "last_retrain_at": state.get("last_retrain_at"),
            }
        )
    return out


def show(ctx: Context, model: str, version: int | None = None) -> dict[str, Any]:
    """A model's state and versions, or one version's full row."""
    registry = _registry(ctx)
    if version is not None:
        return _row(ctx, model, version)
    state = registry.get_model_state(model)
    versions = registry.list_versions(model)
    if not versions and not state.get("exists"):
        raise InvalidInput(f"model '{model}' is not registered", code="unknown_model")
    return {"state": state, "versions": versions}


# --- decisions ------------------------------------------------------------------------------
def approve(
    ctx: Context, model: str, version: int, actor: str, reason: str, expected_decision_seq: int | None = None
) -> dict[str, Any]:
    """Approve a version awaiting approval and make it the champion (one conditional transaction).

    ``expected_decision_seq`` is the ``decision_seq`` the approver saw; when given, a version that was
    decided again since (rejected, promoted, archived) is not overwritten: ConflictError.
    """
    reason = _require_reason(reason, "approve")
    registry = _registry(ctx)
    row = _row(ctx, model, version)
    if row.get("status") not in (PENDING, APPROVED):
        raise ConflictError(
            f"{model} v{version} is {row.get('status')}; only a version awaiting approval "
            "(or an approved former champion) can be approved"
        )
    state = registry.get_model_state(model)
    previous = state.get("champion")
    if previous is not None and int(previous) == int(version):
        raise ConflictError(f"{model} v{version} is already the champion")
    seq = row.get("decision_seq") if expected_decision_seq is None else expected_decision_seq
    registry.promote(
        model,
        version,
        actor=actor,
        reason=f"approved: {reason}",
        expected_champion=previous,
        expected_decision_seq=seq,
        extra={
            "approved_by": actor,
            "approved_at": ctx.clock().isoformat(),
        },
    )
    ctx.record(
        "model.approved",
        actor=actor,
        model=model,
        model_version=version,
        reason=reason,
        details={"previous_champion": previous, "decision_seq": seq},
    )
    ctx.record(
        "model.promoted",
        actor=actor,
        model=model,
        model_version=version,
        reason=f"approved: {reason}",
        outputs=_artifact(row),
        details={"previous_champion": previous, "by": "approval"},
    )
    _cards(ctx, model, [version, previous])
    _notify(
        ctx,
        f"[model-steward] {model} v{version}: promoted",
        f"{actor} approved {model} v{version}; it is the champion now (was v{previous}).\nReason: {reason}",
        model,
    )
    return {
        "model": model,
        "version": version,
        "status": APPROVED,
        "champion": version,
        "previous_champion": previous,
    }


def reject(
    ctx: Context, model: str, version: int, actor: str, reason: str, expected_decision_seq: int | None = None
) -> dict[str, Any]:
    """Reject a version awaiting approval (a champion must be rolled back, not rejected)."""
    reason = _require_reason(reason, "reject")
    registry = _registry(ctx)
    row = _row(ctx, model, version)
    if row.get("alias") == "champion":
        raise ConflictError(
            f"{model} v{version} is the champion: roll back first (steward models rollback {model})"
        )
    seq = row.get("decision_seq") if expected_decision_seq is None else expected_decision_seq
    updated = registry.update_version(
        model,
        version,
        {
            "status": REJECTED,
            "decided_by": actor,
            "decided_at": ctx.clock().isoformat(),
            "decision_reason": reason,
            "alias": None,
        },
        expected={"status": PENDING, "decision_seq": seq},
    )
    state = registry.get_model_state(model)
    if state.get("challenger") == version:
        registry.update_model_state(
            model, {"challenger": None, "traffic_share": 0.0}, expected={"challenger": version}
        )
    ctx.record(
        "model.rejected",
        actor=actor,
        model=model,
        model_version=version,
        reason=reason,
        details={"decision_seq": updated.get("decision_seq"), "by": "person"},
    )
    _cards(ctx, model, [version])
    return {"model": model, "version": version, "status": REJECTED}


def rollback(
    ctx: Context, model: str, to_version: int | None = None, *, actor: str | None = None, reason: str = ""
) -> dict[str, Any]:
    """Make an earlier approved version the champion again; the current one is archived.

    Without ``to_version`` the target is the champion before the current one (champion history).
    Conditional on the champion not changing meanwhile.
    """
    actor = actor or ctx.actor
    reason = (reason or "").strip() or "rollback"
    registry = _registry(ctx)
    state = registry.get_model_state(model)
    current = state.get("champion")
    if current is None:
        raise InvalidInput(f"model '{model}' has no champion to roll back from", code="no_champion")
    current = int(current)
    target = int(to_version) if to_version is not None else _previous_champion(ctx, model, state, current)
    if target == current:
        raise InvalidInput(f"v{target} is already the champion of '{model}'", code="already_champion")
    row = _row(ctx, model, target)
    if row.get("status") != APPROVED:
        raise ConflictError(
            f"{model} v{target} is {row.get('status')}: only an approved version can be rolled back to"
        )
    registry.promote(
        model,
        target,
        actor=actor,
        reason=f"rollback: {reason}",
        expected_champion=current,
        retire_current=True,
    )
    ctx.record(
        "model.rollback",
        actor=actor,
        model=model,
        model_version=target,
        reason=reason,
        outputs=_artifact(row),
        details={"from_version": current, "to_version": target},
    )
    _cards(ctx, model, [target, current])
    _notify(
        ctx,
        f"[model-steward] {model}: rolled back to v{target}",
        f"{actor} rolled {model} back from v{current} to v{target}; v{current} is archived.\n"
        f"Reason: {reason}",
        model,
    )
    return {"model": model, "champion": target, "previous_champion": current, "archived": current}


def _previous_champion(ctx: Context, model: str, state: dict[str, Any], current: int) -> int:
    history = [int(v) for v in state.get("champion_history") or []]
    registry = _registry(ctx)
    for candidate in reversed(history):
        if candidate == current:
            continue
        try:
            if registry.get_version(model, candidate).get("status") == APPROVED:
                return candidate
        except NotFound:
            continue
    raise InvalidInput(
        f"'{model}' has no earlier approved champion to roll back to; name one with --to",
        code="no_rollback_target",
    )


def set_challenger(
    ctx: Context,
    model: str,
    version: int | None,
    traffic_share: float,
    *,
    actor: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Route ``traffic_share`` of scoring rows to ``version`` (A/B); ``version=None`` ends the test."""
    actor = actor or ctx.actor
    registry = _registry(ctx)
    if not 0.0 <= float(traffic_share) <= 1.0:
        raise InvalidInput("traffic share must be between 0 and 1", code="bad_traffic_share")
    state = registry.get_model_state(model)
    previous = state.get("challenger")
    if version is not None:
        row = _row(ctx, model, version)
        if row.get("status") not in (PENDING, APPROVED):
            raise ConflictError(f"{model} v{version} is {row.get('status')}: it cannot serve traffic")
        if state.get("champion") == version:
            raise ConflictError(f"{model} v{version} is the champion; a challenger must be another version")
    share = float(traffic_share) if version is not None else 0.0
    registry.update_model_state(
        model,
        {"challenger": version, "traffic_share": share},
        expected={"state_version": int(state.get("state_version") or 0)},
    )
    if previous is not None and previous != version:
        _set_alias(registry, model, int(previous), None, expected="challenger")
    if version is not None:
        _set_alias(registry, model, int(version), "challenger", expected=None)
    ctx.record(
        "model.challenger_set",
        actor=actor,
        model=model,
        model_version=version,
        reason=reason or f"traffic share {share:.0%}",
        details={"traffic_share": share, "previous_challenger": previous},
    )
    _cards(ctx, model, [version, previous])
    return {"model": model, "challenger": version, "traffic_share": share, "previous_challenger": previous}


def _set_alias(
    registry: Registry, model: str, version: int, alias: str | None, *, expected: str | None
) -> None:
    try:
        registry.update_version(model, version, {"alias": alias}, expected={"alias": expected})
    except ConflictError:
        log.info("alias not changed (row changed meanwhile)", extra={"model": model, "version": version})


def _artifact(row: dict[str, Any]) -> list[dict[str, Any]]:
    art = row.get("artifact") or {}
    return (
        [{"uri": art["uri"], "version_id": art.get("version_id"), "sha256": art.get("sha256")}]
        if art.get("uri")
        else []
    )
