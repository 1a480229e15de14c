"""AlarmCatalog on CloudWatch: which alarms exist (names ``<stack>-<model>-<signal>``)."""

from __future__ import annotations

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
