"""check_window: the hourly window check (schedule ``{"action": "check_window"}``), or one window
of one model (``{"action": "check_window", "model": m, "window": "day", "start": ISO}``).

Thin: parse the request, call services.check_window, flush metrics, return a summary. A malformed
request is logged and dropped (never retried); transient errors propagate so Lambda retries.
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("check_window")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.services.check_window import check_window, parse_request

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    request = parse_request(event if isinstance(event, dict) else {})
    ctx = function.context()
    summary = check_window(ctx, request)
    logger.info(
        "windows checked",
        extra={
            "windows": len(summary["windows"]),
            "skipped": sorted(summary["skipped"]),
            "drifted": [
                f"{w['model']}:{w['start']}" for w in summary["windows"] if w.get("verdict") == "drift"
            ],
        },
    )
    return {"ok": True, **summary}
