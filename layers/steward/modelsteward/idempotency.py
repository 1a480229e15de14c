"""Exactly-once effects on at-least-once delivery, with Powertools idempotency on DynamoDB.

The persistence layer builds its boto3 client in its constructor, so it is created on first use
(never at import) and cached per table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from .config import settings

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
_lambda_context: Any = None


def bind_lambda_context(context: Any) -> None:
    """Remember the invocation's context: an in-progress record then expires with the invocation."""
    global _lambda_context
    _lambda_context = context if hasattr(context, "get_remaining_time_in_millis") else None


@functools.cache
def _persistence(table: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table)


def run_once(
    purpose: str,
    key: Mapping[str, Any],
    work: Callable[[], dict[str, Any]],
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> dict[str, Any]:
    """Run ``work`` once per (purpose, key); a repeat delivery returns the stored result.

    ``key`` must identify the input (bucket, key, version id; alarm name and episode; schedule
    tick). Without an idempotency table (offline use) the work simply runs.
    """
    table = settings().idempotency_table
    if not table:
        return work()
    config = IdempotencyConfig(expires_after_seconds=ttl_seconds, raise_on_no_idempotency_key=True)
    if _lambda_context is not None:
        config.register_lambda_context(_lambda_context)

    @idempotent_function(data_keyword_argument="key", persistence_store=_persistence(table), config=config)  # type: ignore[untyped-decorator]  # Powertools types it loosely
    def _once(key: dict[str, Any]) -> dict[str, Any]:
        return work()

    return cast(dict[str, Any], _once(key={"purpose": purpose, **dict(key)}))


def reset_idempotency() -> None:
    _persistence.cache_clear()
