"""Replay the dead-letter queue: re-run each failed invocation with its original event.

For each message (operations.dead_letter): invoke the function it names synchronously with the
original payload; on success delete the message, on failure keep it (made visible again at the
end, for the next replay) and say why. Messages are hidden while a replay runs, so two replays
never run one event twice at the same time, and a message is tried at most once per replay.
Handlers are idempotent per input, so a replayed event that had partly succeeded does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from modelsteward.errors import StewardError
from stewardtools.operations.dead_letter import (
    DeadLetter,
    InvokeOutcome,
    QueuedMessage,
    describe_payload,
    parse_dead_letter,
)

DEFAULT_VISIBILITY_SECONDS = 960  # longer than the longest function (15 min): one replay owns a message
Status = Literal["replayed", "failed", "skipped"]


class DeadLetterQueue(Protocol):
    def receive(self, max_messages: int, visibility_timeout: int) -> list[QueuedMessage]: ...
    def delete(self, receipt_handle: str) -> None: ...
    def release(self, receipt_handle: str) -> None: ...


class SyncInvoker(Protocol):
    def invoke(self, function: str, payload: object) -> InvokeOutcome: ...


@dataclass(frozen=True)
class ReplayOutcome:
    message_id: str
    status: Status
    function: str | None
    event: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<8} {self.function or '?':<16} {self.event:<40} {self.detail}"


def replay(
    queue: DeadLetterQueue,
    invoker: SyncInvoker,
    *,
    max_messages: int | None = None,
    function: str | None = None,
    visibility_timeout: int = DEFAULT_VISIBILITY_SECONDS,
    echo: Callable[[ReplayOutcome], None] | None = None,
) -> list[ReplayOutcome]:
    """Replay up to ``max_messages`` (None = all). ``function`` replays legacy DLQ messages (which
    do not name their function) on that function; destination records always use their own."""
    outcomes: list[ReplayOutcome] = []
    keep: list[str] = []
    seen: set[str] = set()
    try:
        while max_messages is None or len(outcomes) < max_messages:
            wanted = 10 if max_messages is None else max_messages - len(outcomes)
            batch = [m for m in queue.receive(wanted, visibility_timeout) if m.message_id not in seen]
            if not batch:
                break
            for message in batch:
                seen.add(message.message_id)
                if max_messages is not None and len(outcomes) >= max_messages:
                    keep.append(message.receipt_handle)
                    continue
                outcome = _replay_one(message, invoker, function)
                if outcome.status == "replayed":
                    queue.delete(message.receipt_handle)
                else:
                    keep.append(message.receipt_handle)
                outcomes.append(outcome)
                if echo is not None:
                    echo(outcome)
    finally:
        for handle in keep:
            queue.release(handle)
    return outcomes


def _replay_one(message: QueuedMessage, invoker: SyncInvoker, override: str | None) -> ReplayOutcome:
    letter: DeadLetter = parse_dead_letter(message.body, message.attributes)
    target = letter.function or override
    event = describe_payload(letter.payload)
    name = letter.function_name or override
    if target is None:
        return ReplayOutcome(
            message.message_id,
            "skipped",
            None,
            event,
            "the message does not name its function (legacy dead-letter format): pass --function NAME",
        )
    try:
        result = invoker.invoke(target, letter.payload)
    except StewardError as exc:
        return ReplayOutcome(message.message_id, "failed", name, event, f"could not invoke: {exc.message}")
    if result.ok:
        was = f" (failed before: {letter.error_type})" if letter.error_type else ""
        return ReplayOutcome(message.message_id, "replayed", name, event, f"ok, message deleted{was}")
    why = f"{result.error_type}: {(result.error_message or '')[:200]}"
    return ReplayOutcome(message.message_id, "failed", name, event, f"{why} (kept in the queue)")
