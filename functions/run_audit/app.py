"""run_audit: the scheduled governance audit (payload {"action": "run_audit"}).

Light function: imports neither pandas nor scikit-learn (tests/integration/test_run_audit.py checks).
"""

from __future__ import annotations

from typing import Any

from modelsteward.lambda_function import StewardFunction

function = StewardFunction("run_audit")
logger, tracer = function.logger, function.tracer


@function.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from modelsteward.services.run_audit import handle_schedule

    # unreadable -> InvalidInput: logged and dropped, never retried (StewardFunction)
    summary = handle_schedule(event)
    logger.info("governance audit finished", extra={k: v for k, v in summary.items() if k != "by_check"})
    return summary
