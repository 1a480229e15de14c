"""A Lambda context object for calling handlers directly (Powertools' inject_lambda_context reads it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "req-1"


LAMBDA_CONTEXT = FakeLambdaContext()

# Every functions/*/app.py ``handler``: the tests load them from their files, where mypy cannot see them.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
