"""`steward replay`: re-run the events waiting in the dead-letter queue.

    steward replay [--stack NAME] [--max N] [--queue-url URL] [--function NAME]

Each message is an asynchronous invocation that failed every retry (Lambda's on-failure record:
the function, the original event, the error). Replay invokes that function again with the original
event and waits: on success the message is deleted, on failure it stays in the queue. One line per
message. Fix the cause first (the failing function's log says it), then replay. ``--function``
names the function for messages in the legacy dead-letter format, which do not name it.

Exit codes: 0 every message replayed (or none waiting); 1 some failed or were skipped (they stay
in the queue); 2 bad input; 3 cloud error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from modelsteward.errors import InvalidInput
from stewardtools.cli._stack import stack_arguments, use_endpoint
from stewardtools.cli.main import EXIT_FINDINGS, EXIT_OK


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-run failed asynchronous invocations from the dead-letter queue",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[stack_arguments(json_flag=False)],
    )
    parser.add_argument("--queue-url", default=None, help="the queue, instead of the stack's output")
    parser.add_argument(
        "--max", type=int, default=None, dest="max_messages", help="replay at most N messages (default: all)"
    )
    parser.add_argument(
        "--function", default=None, help="function for legacy dead-letter messages that do not name one"
    )
    parser.set_defaults(func=run)


def _queue_url(args: argparse.Namespace) -> str:
    if args.queue_url:
        return str(args.queue_url)
    from stewardtools.adapters.stack import stack_outputs

    url = stack_outputs(args.stack).get("DeadLetterQueueUrl")
    if not url:
        raise InvalidInput(f"stack '{args.stack}' has no DeadLetterQueueUrl output; pass --queue-url")
    return str(url)


def run(args: argparse.Namespace) -> int:
    if args.max_messages is not None and args.max_messages < 1:
        raise InvalidInput("--max must be at least 1")
    use_endpoint(args)
    from stewardtools.operations.context import dead_letter_ports
    from stewardtools.operations.replay import ReplayOutcome, replay

    url = _queue_url(args)

    def show(outcome: ReplayOutcome) -> None:
        print(outcome.line())
        sys.stdout.flush()

    queue, invoker = dead_letter_ports(url)
    outcomes = replay(queue, invoker, max_messages=args.max_messages, function=args.function, echo=show)
    done = sum(o.status == "replayed" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    if not outcomes:
        print(f"the dead-letter queue is empty ({url})")
    else:
        print(f"{done} replayed, {failed} failed (kept in the queue), {skipped} skipped")
    return EXIT_FINDINGS if failed or skipped else EXIT_OK
