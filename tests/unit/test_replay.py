"""Dead-letter messages and their replay: delete on success, keep on failure, each tried once per run."""

from __future__ import annotations

import json
from typing import Any

from modelsteward.errors import StorageError
from stewardtools.operations.dead_letter import (
    InvokeOutcome,
    QueuedMessage,
    describe_payload,
    parse_dead_letter,
)
from stewardtools.operations.replay import replay

ARN = "arn:aws:lambda:us-east-1:123456789012:function:model-steward-check_window"


def destination_record(payload: Any, function_arn: str = ARN + ":$LATEST") -> str:
    """What Lambda's on-failure destination sends to SQS after the retries."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-03-01T10:00:00.000Z",
            "requestContext": {
                "requestId": "r-1",
                "functionArn": function_arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": payload,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorMessage": "throttled", "errorType": "StorageError", "stackTrace": []},
        }
    )


def test_a_destination_record_names_function_event_and_error() -> None:
    letter = parse_dead_letter(destination_record({"action": "check_window", "model": "m"}))
    assert letter.function == ARN, "the $LATEST qualifier is dropped"
    assert letter.function_name == "model-steward-check_window"
    assert letter.payload == {"action": "check_window", "model": "m"}
    assert (letter.error_type, letter.condition, letter.attempts) == ("StorageError", "RetriesExhausted", 3)


def test_a_legacy_dead_letter_message_carries_the_error_in_attributes_and_no_function() -> None:
    letter = parse_dead_letter(
        json.dumps({"Records": []}), {"ErrorCode": "200", "ErrorMessage": "boom", "RequestID": "r-9"}
    )
    assert (letter.function, letter.format, letter.error_message) == (None, "dead_letter_queue", "boom")
    assert parse_dead_letter("not json").payload == "not json"


def test_payload_descriptions_never_show_data() -> None:
    s3 = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "inference/m/b.csv"}}}]}
    assert describe_payload(s3) == "s3 inference/m/b.csv"
    assert describe_payload({"action": "retrain", "model": "m"}) == "action retrain (model=m)"
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Subject": "ALARM: x"}}]}
    assert describe_payload(sns) == "sns ALARM: x"
    assert describe_payload([1, 2]) == "list"


class FakeQueue:
    def __init__(self, bodies: list[str]) -> None:
        self.messages = {f"m{i}": body for i, body in enumerate(bodies)}
        self.hidden: set[str] = set()
        self.deleted: list[str] = []
        self.released: list[str] = []

    def receive(self, max_messages: int, visibility_timeout: int) -> list[QueuedMessage]:
        visible = [m for m in self.messages if m not in self.hidden][:max_messages]
        self.hidden |= set(visible)
        return [QueuedMessage(m, f"h-{m}", self.messages[m]) for m in visible]

    def delete(self, receipt_handle: str) -> None:
        mid = receipt_handle.removeprefix("h-")
        self.deleted.append(mid)
        del self.messages[mid]
        self.hidden.discard(mid)

    def release(self, receipt_handle: str) -> None:
        mid = receipt_handle.removeprefix("h-")
        self.released.append(mid)
        self.hidden.discard(mid)


class FakeInvoker:
    def __init__(self, failing: set[str] | None = None, broken: bool = False) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.failing = failing or set()
        self.broken = broken

    def invoke(self, function: str, payload: object) -> InvokeOutcome:
        if self.broken:
            raise StorageError("endpoint unreachable")
        self.calls.append((function, payload))
        if isinstance(payload, dict) and payload.get("model") in self.failing:
            return InvokeOutcome(False, "RuntimeError", "still broken")
        return InvokeOutcome(True, response={"ok": True})


def test_replay_deletes_what_succeeds_and_keeps_what_fails() -> None:
    queue = FakeQueue([destination_record({"action": "check_window", "model": m}) for m in ("a", "b", "c")])
    invoker = FakeInvoker(failing={"b"})
    lines: list[str] = []
    outcomes = replay(queue, invoker, echo=lambda o: lines.append(o.line()))
    assert [(o.status, o.function) for o in outcomes] == [
        ("replayed", "model-steward-check_window"),
        ("failed", "model-steward-check_window"),
        ("replayed", "model-steward-check_window"),
    ]
    assert [c[0] for c in invoker.calls] == [ARN] * 3, "each message tried once"
    assert queue.deleted == ["m0", "m2"] and list(queue.messages) == ["m1"]
    assert queue.released == ["m1"], "the failed message is visible again for the next replay"
    assert "RuntimeError: still broken (kept in the queue)" in lines[1]
    assert len(lines) == 3


def test_replay_stops_at_max_and_releases_the_rest() -> None:
    queue = FakeQueue([destination_record({"action": "check_window", "model": str(i)}) for i in range(5)])
    outcomes = replay(queue, FakeInvoker(), max_messages=2)
    assert len(outcomes) == 2 and len(queue.messages) == 3
    assert not queue.hidden, "nothing stays hidden after the run"


def test_legacy_messages_need_a_function_and_an_unreachable_function_keeps_the_message() -> None:
    legacy = json.dumps({"action": "check_window"})
    queue = FakeQueue([legacy])
    assert [o.status for o in replay(queue, FakeInvoker())] == ["skipped"]
    assert "--function" in replay(FakeQueue([legacy]), FakeInvoker())[0].detail
    assert [o.status for o in replay(queue, FakeInvoker(), function="model-steward-check_window")] == [
        "replayed"
    ]
    broken = FakeQueue([destination_record({"action": "check_window"})])
    (outcome,) = replay(broken, FakeInvoker(broken=True))
    assert outcome.status == "failed" and "endpoint unreachable" in outcome.detail
    assert list(broken.messages) == ["m0"]


def test_an_empty_queue_replays_nothing() -> None:
    assert replay(FakeQueue([]), FakeInvoker()) == []
