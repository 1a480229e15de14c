"""Current definition and state of named CloudWatch alarms (handle_alarm explains composite alarms).

A composite alarm's notification names its children only by ARN; DescribeAlarms gives each child's
metric, statistic, threshold, M of N and the state reason with the values CloudWatch saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import client, translate

_BATCH = 100  # DescribeAlarms takes up to 100 names


class CloudWatchAlarmLookup:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cw = cloudwatch

    def describe(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The metric alarms among ``names`` as DescribeAlarms returns them (unknown names are absent)."""
        cw = self._cw or client("cloudwatch")
        wanted = list(dict.fromkeys(names))
        found: list[dict[str, Any]] = []
        try:
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
                resp = cw.describe_alarms(AlarmNames=chunk, AlarmTypes=["MetricAlarm"])
                found += resp.get("MetricAlarms", [])
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"describe alarms {', '.join(wanted[:3])}") from exc
        return found
