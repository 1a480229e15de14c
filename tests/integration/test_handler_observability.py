"""Every handler logs the Powertools way: request id, cold-start flag and a correlation id on every
line (the suite's own stdlib loggers included, with their ``extra`` fields), and is traced.

The services are stubbed: what is under test is the handler's wiring, for all eleven functions.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import logging
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelsteward.observability import TRACED_MODULES, correlation_id

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
RUN = {"bucket": "b", "key": "inference/credit/big batch.csv", "model": "credit", "batch_id": "big-1"}


@dataclass
class Context:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 1024

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"


def s3_event(key: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
                    "object": {"key": urllib.parse.quote_plus(key), "size": 10, "eTag": "e"},
                },
            }
        ]
    }


def alarm_event(name: str) -> dict[str, Any]:
    message = {
        "AlarmName": name,
        "NewStateValue": "ALARM",
        "NewStateReason": "r",
        "StateChangeTime": "2026-01-01T00:00:00.000+0000",
        "AlarmDescription": "model=m;signal=drift",
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:s",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "0b7e1f2a-1111-4b38-8019-001f155d9d0a",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
                    "Subject": None,
                    "Message": json.dumps(message),
                    "Timestamp": "2026-01-01T00:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "x",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/c.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/u",
                    "MessageAttributes": {},
                },
            }
        ]
    }


# function -> (event, expected correlation id, {module: {attribute: stub result}})
CASES: dict[str, tuple[dict[str, Any], str, dict[str, dict[str, Any]]]] = {
    "check_window": (
        {"action": "check_window"},
        "check_window",
        {"check_window": {"check_window": {"windows": [], "skipped": []}}},
    ),
    "create_baseline": (
        s3_event("reference/churn/ref file.csv"),
        "reference/churn/ref file.csv",
        {"create_baseline": {"create_baseline": {"status": "created"}}},
    ),
    "evaluate_labels": (
        s3_event("labels/churn/l.csv"),
        "labels/churn/l.csv",
        {"evaluate_labels": {"evaluate_upload": {"status": "evaluated"}}},
    ),
    "finish_large_batch": (
        {"action": "finish", "run": RUN},
        RUN["key"],
        {"scale_out": {"finish_large_batch": {"status": "accepted"}}},
    ),
    "handle_alarm": (
        alarm_event("st-credit-drift"),
        "st-credit-drift",
        {"handle_alarm": {"handle_alarm": {"status": "handled"}}},
    ),
    "monitor_batch": (
        s3_event("inference/credit/big batch.csv"),
        RUN["key"],
        {"monitor_batch": {"monitor_batch": {"status": "accepted"}}},
    ),
    "plan_chunks": ({"run": RUN}, RUN["key"], {"scale_out": {"plan_large_batch": {"chunks": 2}}}),
    "profile_chunk": (
        {"run": RUN, "chunk": {"index": 0}},
        RUN["key"],
        {"scale_out": {"profile_large_batch_chunk": {"index": 0}}},
    ),
    "run_audit": ({"action": "run_audit"}, "run_audit", {"run_audit": {"handle_schedule": {"ok": True}}}),
    "score_batch": (
        s3_event("scoring/credit/s.csv"),
        "scoring/credit/s.csv",
        {"score_batch": {"score_upload": {"status": "scored"}}},
    ),
    "train_model": (
        {"action": "retrain", "model": "credit", "reason": "r", "trigger": "manual"},
        "retrain:credit",
        {"train_model": {"train_model": {"status": "trained"}}},
    ),
}


class _FakeMetrics:
    def flush(self) -> None:
        pass


class _FakeContext:
    metrics = _FakeMetrics()

    def record(self, *args: Any, **kwargs: Any) -> None:
        pass


def _load(function: str) -> Any:
    name = f"_observability_handler_{function}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _stub(result: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def service(*args: Any, **kwargs: Any) -> dict[str, Any]:
        # the suite's modules log with the standard library and extra= fields
        logging.getLogger("modelsteward.services.probe").warning("probe line", extra={"probe_field": 7})
        return dict(result)

    return service


def test_every_function_is_covered() -> None:
    assert sorted(CASES) == FUNCTIONS and len(FUNCTIONS) == 11


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_line_carries_request_id_cold_start_and_correlation_id(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelsteward.services.context as context_module

    event, expected, stubs = CASES[function]
    for module_name, attributes in stubs.items():
        module = importlib.import_module(f"modelsteward.services.{module_name}")
        for attribute, result in attributes.items():
            monkeypatch.setattr(module, attribute, _stub(result))
    fake = classmethod(lambda cls, actor: _FakeContext())
    monkeypatch.setattr(context_module.Context, "from_environment", fake)
    app = _load(function)
    buffer = io.StringIO()
    for handler in app.logger.handlers:
        monkeypatch.setattr(handler, "stream", buffer)
    app.handler(event, Context(function_name=f"st-{function}", aws_request_id=f"req-{function}"))
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 2, "the handler's own line and the library's line"
    for line in lines:
        assert line["function_request_id"] == f"req-{function}", line
        assert isinstance(line["cold_start"], bool), line
        assert line["correlation_id"] == expected, line
        assert line["service"] == function, line
    probes = [line for line in lines if line["message"] == "probe line"]
    assert probes and probes[0]["probe_field"] == 7, "stdlib extra= fields survive"


def test_the_correlation_id_ties_a_batch_across_the_scale_out_functions() -> None:
    events = [s3_event(RUN["key"]), {"run": RUN}, {"action": "finish", "run": RUN}, {"run": RUN, "chunk": {}}]
    ids = {correlation_id(event) for event in events}
    assert ids == {RUN["key"]}


def _decorators(function: str) -> list[str]:
    tree = ast.parse((ROOT / "functions" / function / "app.py").read_text())
    handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler")
    return [ast.unparse(d) for d in handler.decorator_list]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_handler_is_traced_and_gets_the_lambda_context(function: str) -> None:
    assert _decorators(function) == [
        "function.handler"
    ]  # the one decorator (tests/unit/test_lambda_function.py)
    app = _load(function)
    assert type(app.function).__name__ == "StewardFunction" and app.function.name == function
    assert app.tracer is app.function.tracer and app.logger is app.function.logger
    assert type(app.tracer).__name__ == "Tracer" and app.tracer.service == function
    assert "botocore" in TRACED_MODULES  # every AWS SDK call becomes a subsegment
