"""Checks shared by the fault tests: audit records by action, object existence, chain, one run."""

from __future__ import annotations

from typing import Any

from modelsteward.errors import StorageError


def ctx_for(actor: str) -> Any:
    from modelsteward.services.context import Context

    return Context.from_environment(actor)


def records(ctx: Any, action: str, **details: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in ctx.audit.records()
        if r["action"] == action and all((r.get("details") or {}).get(k) == v for k, v in details.items())
    ]


def exists(ctx: Any, ref: dict[str, Any]) -> bool:
    """The exact object version an audit record or registry row names is there, with its digest."""
    from modelsteward.errors import NotFound

    bucket, key = ref["uri"].removeprefix("s3://").split("/", 1)
    try:
        obj = ctx.store.get(bucket, key, ref.get("version_id"))
    except NotFound:
        return False
    return not ref.get("sha256") or obj.ref.sha256 == ref["sha256"]


def chain_ok(ctx: Any) -> None:
    from modelsteward.domain.audit_chain import verify_chain

    result = verify_chain(ctx.audit.records())
    assert result.ok, result.message


def run_once_or_fail(call: Any) -> tuple[Any, Exception | None]:
    try:
        return call(), None
    except StorageError as exc:
        return None, exc
