"""StewardFunction, the one decorator of the eleven handlers: Powertools around the handler, the
parse step's bad input answered (never retried), later bad input raised, metrics always flushed."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Tracer

from modelsteward.errors import InvalidInput
from modelsteward.lambda_function import StewardFunction
from modelsteward.observability import TRACED_MODULES


@dataclass
class LambdaContext:
    function_name: str = "probe"
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:probe"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Metrics:
    def __init__(self) -> None:
        self.flushed = 0

    def flush(self) -> None:
        self.flushed += 1


class Ctx:
    def __init__(self) -> None:
        self.metrics = Metrics()


@pytest.fixture
def ctx(monkeypatch: pytest.MonkeyPatch) -> Ctx:
    from modelsteward.services.context import Context

    made = Ctx()
    monkeypatch.setattr(Context, "from_environment", classmethod(lambda cls, actor: made))
    return made


def _lines(function: StewardFunction, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The JSON lines the function's Powertools Logger writes."""
    buffer = io.StringIO()
    for handler in function.logger.handlers:
        monkeypatch.setattr(handler, "stream", buffer)
    return buffer


def test_the_handler_is_wrapped_by_powertools_logger_and_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    inject, capture = Logger.inject_lambda_context, Tracer.capture_lambda_handler

    def recording_inject(self: Logger, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs.get("lambda_handler"):  # Powertools re-enters itself with the handler
            calls.append(
                ("inject_lambda_context", {k: v for k, v in kwargs.items() if k != "lambda_handler"})
            )
        return inject(self, *args, **kwargs)

    def recording_capture(self: Tracer, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs.get("lambda_handler"):
            calls.append(
                ("capture_lambda_handler", {k: v for k, v in kwargs.items() if k != "lambda_handler"})
            )
        return capture(self, *args, **kwargs)

    monkeypatch.setattr(Logger, "inject_lambda_context", recording_inject)
    monkeypatch.setattr(Tracer, "capture_lambda_handler", recording_capture)
    function = StewardFunction("probe")

    @function.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"ok": True}

    assert [name for name, _ in calls] == ["capture_lambda_handler", "inject_lambda_context"]
    assert calls[0][1]["capture_response"] is False and calls[1][1]["clear_state"] is True
    assert handler({}, LambdaContext()) == {"ok": True}
    assert function.tracer.service == "probe" and "botocore" in TRACED_MODULES


def test_an_unreadable_event_is_logged_and_answered_not_raised(
    ctx: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = StewardFunction("probe")
    stream = _lines(function, monkeypatch)

    @function.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise InvalidInput("not an S3 notification", code="not_s3_event")

    assert handler({"x": 1}, LambdaContext()) == {
        "ok": False,
        "error": "not_s3_event",
        "message": "not an S3 notification",
    }
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "probe ignored an event" and line["code"] == "not_s3_event"
    assert line["function_request_id"] == "req-1"
    assert ctx.metrics.flushed == 0  # no context was asked for


def test_bad_input_after_the_parse_step_raises_and_metrics_are_flushed(ctx: Ctx) -> None:
    function = StewardFunction("probe")

    @function.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        function.context()
        raise InvalidInput("the service should have quarantined this", code="late")

    with pytest.raises(InvalidInput):
        handler({}, LambdaContext())
    assert ctx.metrics.flushed == 1


def test_metrics_are_flushed_once_per_invocation_that_asked_for_its_context(ctx: Ctx) -> None:
    function = StewardFunction("probe")

    @function.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("wire"):
            function.context()
        if event.get("fail"):
            raise RuntimeError("transient")
        return {"ok": True}

    handler({"wire": True}, LambdaContext())
    handler({}, LambdaContext())  # a fresh invocation: the earlier context is not flushed again
    with pytest.raises(RuntimeError):
        handler({"wire": True, "fail": True}, LambdaContext())
    assert ctx.metrics.flushed == 2


def test_the_prepare_step_runs_before_the_handler_on_every_invocation() -> None:
    steps: list[str] = []
    function = StewardFunction("probe", prepare=lambda: steps.append("prepare"))

    @function.handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        steps.append("handler")
        return {"ok": True}

    handler({}, LambdaContext())
    handler({}, LambdaContext())
    assert steps == ["prepare", "handler", "prepare", "handler"]
    assert StewardFunction("other").prepare is None
