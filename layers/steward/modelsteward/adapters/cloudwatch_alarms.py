"""CloudWatch alarms: which exist (AlarmCatalog; names ``<stack>-<model>-<signal>``) and the episode
mirror's SetAlarmState (AlarmStates)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate


class CloudWatchAlarmCatalog:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cw = cloudwatch

    def alarm_names(self, prefix: str) -> list[str]:
        """Every metric and composite alarm whose name starts with ``prefix`` (paginated)."""
        cw = self._cw or client("cloudwatch")
        names: list[str] = []
        try:
            pages = cw.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for page in pages:
                names += [a["AlarmName"] for a in page.get("MetricAlarms", [])]
                names += [a["AlarmName"] for a in page.get("CompositeAlarms", [])]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"describe alarms with prefix {prefix}") from exc
        return sorted(set(names))


class CloudWatchAlarmStates:
    """SetAlarmState: CloudWatch runs the alarm's actions when the state changes (and only then)."""

    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cw = cloudwatch

    def set_state(self, name: str, state: str, reason: str, data: Mapping[str, Any] | None = None) -> None:
        cw = self._cw or client("cloudwatch")
        try:
            cw.set_alarm_state(
                AlarmName=name,
                StateValue=state,
                StateReason=reason[:1023],
                StateReasonData=json.dumps(dict(data or {}), default=str)[:4000],
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"set the state of alarm {name}") from exc
