"""Give moto's in-process DynamoDB the request atomicity DynamoDB has.

moto's backends are not thread-safe: two threads can both pass a condition before either writes,
and a cancelled transaction's rollback can restore items a concurrent writer just changed.
Serializing *requests* (not whole operations) keeps the races between our read-decide-write steps
real while giving each request, transactions included, DynamoDB's isolation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock


@contextlib.contextmanager
def serialized_dynamodb() -> Iterator[None]:
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield
