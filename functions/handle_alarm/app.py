"""handle_alarm: CloudWatch alarm state changes from the alarms topic -> email + retrain policy.

Thin: parse the SNS event (Powertools' SnsModel + the suite's CloudWatch alarm model), call
services.handle_alarm per notification, return a summary. A message that is not an alarm is
recorded and dropped (never retried); transient errors propagate so Lambda retries, then the event
waits in the dead-letter queue for ``steward replay``. Light: steward layer only (no numpy).
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("handle_alarm")
logger, tracer = function.logger, function.tracer
_LOGGED = ("alarm", "state", "decision", "emailed")


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.errors import InvalidInput
    from modelsteward.services.handle_alarm import alarm_notifications, handle_alarm

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    notifications = alarm_notifications(event)
    ctx = function.context()
    results: list[dict[str, Any]] = []
    for item in notifications:
        if isinstance(item, InvalidInput):
            ctx.record(
                "alarm.handled",
                reason=f"not an alarm notification: {item.message}",
                details={"function": "handle_alarm", "code": item.code},
            )
            logger.error("message on the alarms topic is not an alarm", extra={"reason": item.message})
            results.append({"status": "rejected", "code": item.code, "reason": item.message})
            continue
        result = handle_alarm(ctx, item)
        logger.info("alarm handled", extra={k: result.get(k) for k in _LOGGED})
        results.append(result)
    return {"ok": all(r.get("status") == "handled" for r in results), "results": results}
