"""boto3 clients built on first use (moto must be active before a client exists)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ConflictError, NotFound, StorageError

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)


@functools.cache
def client(service: str) -> Any:
    """A cached client; ``AWS_ENDPOINT_URL`` (set by the local cloud or the user) is honoured by boto3."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(service, region_name=region, config=_RETRIES)  # type: ignore[call-overload]


def reset_clients() -> None:
    client.cache_clear()


_NOT_FOUND = {
    "NoSuchKey",
    "NoSuchBucket",
    "NoSuchVersion",
    "404",
    "NotFound",
    "ResourceNotFoundException",
    "ResourceNotFound",  # DynamoDB, CloudWatch (SetAlarmState)
}
_CONFLICT = {"ConditionalCheckFailedException", "TransactionCanceledException", "PreconditionFailed"}


def translate(exc: Exception, what: str) -> Exception:
    """Map a boto error to the suite's hierarchy; the caller does ``raise translate(e, ...) from e``."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            return NotFound(f"{what}: not found ({code})")
        if code in _CONFLICT:
            return ConflictError(f"{what}: conditional write failed ({code})")
        return StorageError(f"{what}: {code or 'error'}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{what}: {exc}")
    return exc
