"""MetricsSink on CloudWatch Embedded Metric Format through Powertools.

EMF lines go to stdout (CloudWatch Logs turns them into metrics on AWS; the local cloud replays
them). One EMF document per dimension set, since EMF shares dimensions across a document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

_UNITS = {u.value: u for u in MetricUnit}


class EmfMetrics:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._pending: dict[tuple[tuple[str, str], ...], list[tuple[str, float, str]]] = defaultdict(list)

    def put(
        self, name: str, value: float, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None:
        dims = tuple(sorted((dimensions or {}).items()))
        self._pending[dims].append((name, float(value), unit))

    def flush(self) -> None:
        for dims, points in self._pending.items():
            provider = AmazonCloudWatchEMFProvider(namespace=self.namespace)
            provider.service = None  # type: ignore[assignment] # dimensions are exactly what the alarms name: no implicit "service"
            for key, val in dims:
                provider.add_dimension(key, val)
            for name, value, unit in points:
                provider.add_metric(name=name, unit=_UNITS.get(unit, MetricUnit.Count), value=value)
            provider.flush_metrics()
        self._pending.clear()


class RecordingMetrics:
    """In-memory sink for tests and the offline `steward check`."""

    def __init__(self) -> None:
        self.points: list[tuple[str, float, str, dict[str, str]]] = []

    def put(
        self, name: str, value: float, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None:
        self.points.append((name, float(value), unit, dict(dimensions or {})))

    def flush(self) -> None:
        return None
