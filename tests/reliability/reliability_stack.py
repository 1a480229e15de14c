"""The reliability suite's building blocks (imported by its tests and conftest): the ledger of what a
test tried, per-request atomic DynamoDB, and a barrier-started thread runner (the moto stack is
tests/support/moto_stack.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto_atomic import serialized_dynamodb as serialized_dynamodb  # re-exported for the tests
from moto_stack import MotoStack

Stack = MotoStack  # the reliability suite's stack: MotoStack("rel"), see conftest.py


@dataclass
class Ledger:
    """What one test tried; ``kind`` is duplicate | fault | race | scan (the report's sections)."""

    test: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def duplicate(self, function: str, deliveries: int, mode: str, **facts: Any) -> None:
        self.entries.append(
            {"kind": "duplicate", "function": function, "deliveries": deliveries, "mode": mode, **facts}
        )

    def fault(self, service: str, call_site: str, fault: str, times: int, outcome: str, **facts: Any) -> None:
        self.entries.append(
            {
                "kind": "fault",
                "service": service,
                "call_site": call_site,
                "fault": fault,
                "times": times,
                "outcome": outcome,
                **facts,
            }
        )

    def scan(self, name: str, files: int, **facts: Any) -> None:
        self.entries.append({"kind": "scan", "name": name, "files": files, **facts})

    def race(self, name: str, workers: int, operations: int, **facts: Any) -> None:
        self.entries.append(
            {"kind": "race", "name": name, "workers": workers, "operations": operations, **facts}
        )


def run_threads(fns: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Start every callable at once (a barrier) and collect (result, exception) in order."""
    barrier = threading.Barrier(len(fns))
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(fns)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = (fn(), None)
        except BaseException as exc:  # reported to the test, which decides
            out[i] = (None, exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out
