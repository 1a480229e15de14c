"""Reliability suite fixtures: a moto stack with the real adapters, fault injection on the adapters'
cached boto3 clients, and a ledger that counts what each test tried.

The ledger: every test that takes the ``ledger`` fixture records what it attempted (duplicate
deliveries, injected faults per call site, races); after the test's call phase the entries are
appended, with the test's outcome, to ``build/reliability/<worker>.jsonl`` (one file per xdist
worker, so no locking). ``make reliability-report`` (tests/reliability/render_report.py) merges
them into docs/reliability.md. The folder is emptied when a (controller) session starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto_stack import REGION, MotoStack, reset_caches
from pluggy import Result
from reliability_stack import Ledger, Stack

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("RELIABILITY_RESULTS", ROOT / "build" / "reliability"))
LEDGER_KEY = pytest.StashKey[list[dict[str, Any]]]()


# --- the ledger ---------------------------------------------------------------------------------------
def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller cleared already
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.jsonl"):
        old.unlink()


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Ledger:
    entries: list[dict[str, Any]] = []
    request.node.stash[LEDGER_KEY] = entries
    return Ledger(request.node.nodeid, entries)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    entries = item.stash.get(LEDGER_KEY, None)
    if report.when != "call" or entries is None:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{worker}.jsonl").open("a", encoding="utf-8") as out:
        for entry in entries:
            status = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            out.write(json.dumps({"test": item.nodeid, "status": status, **entry}, default=str) + "\n")


# --- a moto stack with the stack's environment ------------------------------------------------------
@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Buckets (versioned; the audit bucket with Object Lock), the three tables and the topic on moto."""
    s = MotoStack("rel")
    for name, value in s.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("TRAIN_FUNCTION_NAME", raising=False)
    with mock_aws():
        reset_caches()
        s.create()
        yield s
        reset_caches()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries sleep up to 2**attempt s between attempts: not in a unit of time
    a test suite can afford. The number of attempts (max_attempts 5) is unchanged."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
