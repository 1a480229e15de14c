"""Scheduled EventBridge rules, fired on demand (moto never fires a schedule).

:func:`fire_schedule` finds the enabled rules that have a ``ScheduleExpression`` and invokes
their Lambda targets asynchronously, as EventBridge does: with the target's ``Input`` when set,
else the target's ``InputPath`` of, or the whole, "Scheduled Event" envelope EventBridge sends
(``version`` "0", ``detail-type`` "Scheduled Event", ``source`` "aws.events", the rule ARN in
``resources``, ``time`` from the local cloud's clock).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stewardtools.localcloud.clock import SimulatedClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledTarget:
    rule_name: str
    rule_arn: str
    schedule: str
    target_arn: str
    input: str | None
    input_path: str | None
    enabled: bool


def scheduled_targets(events: Any) -> list[ScheduledTarget]:
    """Every Lambda target of every rule with a ScheduleExpression (default event bus)."""
    targets: list[ScheduledTarget] = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("ScheduleExpression"):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":lambda:" not in target["Arn"]:
                    log.warning(
                        "schedule %s: target %s is not a Lambda function; skipped",
                        rule["Name"],
                        target["Arn"],
                    )
                    continue
                targets.append(
                    ScheduledTarget(
                        rule_name=rule["Name"],
                        rule_arn=rule["Arn"],
                        schedule=rule["ScheduleExpression"],
                        target_arn=target["Arn"],
                        input=target.get("Input"),
                        input_path=target.get("InputPath"),
                        enabled=rule.get("State", "ENABLED") == "ENABLED",
                    )
                )
    return targets


def scheduled_event(target: ScheduledTarget, clock: SimulatedClock, account_id: str, region: str) -> Any:
    """The payload EventBridge delivers to the target."""
    if target.input is not None:
        return json.loads(target.input)
    envelope: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [target.rule_arn],
        "detail": {},
    }
    if target.input_path:
        node: Any = envelope
        for part in target.input_path.lstrip("$").strip(".").split("."):
            if part:
                node = node[part]
        return node
    return envelope


def fire_schedule(
    events: Any,
    invoke_async: Callable[[str, Any, str], None],
    clock: SimulatedClock,
    account_id: str,
    region: str,
    select: str | None = None,
    matches_function: Callable[[str, str], bool] | None = None,
) -> list[ScheduledTarget]:
    """Fire the matching schedules; returns the targets that were invoked.

    ``select`` (None = every enabled schedule) matches a rule name, or a substring of it, or a
    target function through ``matches_function(target_arn, select)``. Disabled rules fire only
    when named exactly. Raises LookupError when nothing matches (a typo must not pass silently).
    """
    fired: list[ScheduledTarget] = []
    for target in scheduled_targets(events):
        chosen = (
            select is None
            or select == target.rule_name
            or select in target.rule_name
            or (matches_function is not None and matches_function(target.target_arn, select))
        )
        if not chosen or (not target.enabled and select != target.rule_name):
            continue
        event = scheduled_event(target, clock, account_id, region)
        invoke_async(target.target_arn, event, f"schedule:{target.rule_name}")
        fired.append(target)
    if select is not None and not fired:
        raise LookupError(f"no enabled schedule matches {select!r}")
    return fired


_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_of(expression: str) -> dt.timedelta | None:
    """``rate(5 minutes)`` -> 5 minutes; None for ``cron(...)`` and anything else."""
    text = expression.strip()
    if not (text.startswith("rate(") and text.endswith(")")):
        return None
    parts = text[5:-1].split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in _RATE_UNITS:
        return None
    return dt.timedelta(seconds=int(parts[0]) * _RATE_UNITS[parts[1]])


class ScheduleTracker:
    """When each ``rate(...)`` rule is due next on the local cloud's clock (``cron(...)`` is not fired)."""

    def __init__(self) -> None:
        self.next_fire: dict[str, dt.datetime] = {}

    def due(self, events: Any, now: dt.datetime) -> list[str]:
        """The rules due at ``now`` (each rule once, however many periods passed), rescheduled."""
        rules = {t.rule_name: t for t in scheduled_targets(events)}
        out = []
        for target in rules.values():
            period = rate_of(target.schedule)
            if period is None or not target.enabled:
                continue
            due = self.next_fire.setdefault(target.rule_name, now + period)
            if now >= due:
                self.next_fire[target.rule_name] = now + period
                out.append(target.rule_name)
        return out
