"""handle_alarm: CloudWatch alarm state changes from the alarms topic -> email + retrain policy.

Thin: parse the SNS event (Powertools' SnsModel + the suite's CloudWatch alarm model), call
services.handle_alarm per notification, return a summary. A message that is not an alarm is
recorded and dropped (never retried); transient errors propagate so Lambda retries, then the event
waits in the dead-letter queue for ``steward replay``. Light: steward layer only (no numpy).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer

from modelsteward.observability import TRACED_MODULES, start_invocation

logger = Logger(service="handle_alarm")
tracer = Tracer(service="handle_alarm", patch_modules=TRACED_MODULES)
_LOGGED = ("alarm", "state", "decision", "emailed")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    start_invocation(logger, tracer, event, context)  # correlation id, library logs
    from modelsteward.idempotency import bind_lambda_context

    bind_lambda_context(context)
    from modelsteward.errors import InvalidInput
    from modelsteward.services.context import Context
    from modelsteward.services.handle_alarm import alarm_notifications, handle_alarm

    try:
        notifications = alarm_notifications(event)
    except InvalidInput as exc:  # not an SNS event: logged, never retried
        logger.error("handle_alarm ignored an event", extra={"code": exc.code, "reason": exc.message})
        return {"ok": False, "error": exc.code, "message": exc.message}
    ctx = Context.from_environment("handle_alarm")
    results: list[dict[str, Any]] = []
    for item in notifications:
        if isinstance(item, InvalidInput):
            ctx.record("alarm.handled", reason=f"not an alarm notification: {item.message}",
                       details={"function": "handle_alarm", "code": item.code})  # fmt: skip
            logger.error("message on the alarms topic is not an alarm", extra={"reason": item.message})
            results.append({"status": "rejected", "code": item.code, "reason": item.message})
            continue
        result = handle_alarm(ctx, item)
        logger.info("alarm handled", extra={k: result.get(k) for k in _LOGGED})
        results.append(result)
    return {"ok": all(r.get("status") == "handled" for r in results), "results": results}
