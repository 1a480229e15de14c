"""The one decorator every handler wears: what a Lambda invocation needs around the handler's own
three steps (parse the event, call one service, return a summary), written once for the eleven
functions instead of copied into each app.py.

Around the handler, in this order: Powertools Logger with the Lambda context (request id, cold
start; state cleared per invocation), Tracer on the handler (AWS SDK calls traced through
``TRACED_MODULES``), the correlation id on every log line and on the trace, the function's
``prepare`` step (MlDepsLayer's zipped packages unpacked), the idempotency clock bound to the
invocation's deadline. After it, however it ends: the metrics of the context it asked for are
flushed.

An event the handler cannot read (``InvalidInput`` raised before it asks for its context: the
parse step) is logged and answered with ``{"ok": False, ...}``, never retried; bad input found
later is the service's to quarantine, and anything else raises so Lambda retries it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer

from .errors import InvalidInput
from .observability import TRACED_MODULES, start_invocation

if TYPE_CHECKING:
    from .services.context import Context

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class StewardFunction:
    """One Lambda function of the suite: its name, its Logger and Tracer, and ``handler``, the
    decorator of its entry point. ``prepare`` runs before the handler on every invocation: the
    functions on MlDepsLayer pass ``packed_deps.unpack_packed_deps`` (scipy and scikit-learn ship
    zipped, layers/deps/build_layer.py; a no-op once unpacked). It is passed in, not imported here,
    so only those functions' deployments reach the unpacker (layers/deps/import_graph.py)."""

    def __init__(self, name: str, *, prepare: Callable[[], object] | None = None) -> None:
        self.name = name
        self.prepare = prepare
        self.logger = Logger(service=name)
        self.tracer = Tracer(service=name, patch_modules=TRACED_MODULES)
        self._context: Context | None = None

    def context(self) -> Context:
        """The function's wired ports (built once per process, services/context.py); asking for it
        ends the parse step, and its metrics are flushed when the invocation ends."""
        from .services.context import Context

        self._context = Context.from_environment(self.name)
        return self._context

    def handler(self, fn: Handler) -> Handler:
        @functools.wraps(fn)
        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            start_invocation(self.logger, self.tracer, event, context)
            if self.prepare is not None:
                self.prepare()
            from .idempotency import bind_lambda_context

            bind_lambda_context(context)
            self._context = None
            try:
                return fn(event, context)
            except InvalidInput as exc:
                if self._context is not None:
                    raise
                self.logger.error(
                    f"{self.name} ignored an event", extra={"code": exc.code, "reason": exc.message}
                )
                return {"ok": False, "error": exc.code, "message": exc.message}
            finally:
                if self._context is not None:
                    self._context.metrics.flush()

        traced: Handler = self.tracer.capture_lambda_handler(capture_response=False)(invoke)
        wrapped: Handler = self.logger.inject_lambda_context(clear_state=True)(traced)
        return wrapped
