"""Shared test setup: fake AWS credentials, a fixed region, and no path to a real AWS account."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# helpers shared by the suites (tests/support), importable as plain modules from any suite
sys.path.insert(0, str(Path(__file__).parent / "support"))

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_DEV": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Set at import so that nothing collected later can build a client against real AWS.
os.environ.update(_FAKE_ENV)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """Settings, clients and contexts are cached per process; tests change the environment."""
    from modelsteward.adapters.aws import reset_clients
    from modelsteward.config import reset_settings
    from modelsteward.idempotency import reset_idempotency
    from modelsteward.services.context import reset_contexts

    reset_settings()
    reset_clients()
    reset_contexts()
    reset_idempotency()
