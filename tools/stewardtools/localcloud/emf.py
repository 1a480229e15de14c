"""Embedded Metric Format lines -> CloudWatch metrics, as CloudWatch Logs does on AWS.

Functions print EMF documents (one JSON object per line with an ``_aws`` key) to stdout; on AWS
the log service extracts the metrics. Locally the runtime hands every captured line to
:class:`EmfBridge`, which replays the metrics with ``put_metric_data`` on moto. Timestamps come
from the document's ``_aws.Timestamp`` mapped onto the local cloud's clock, so advancing the
clock moves later metrics into later alarm periods.

Specification followed: "Specification: Embedded metric format" (CloudWatch user guide): one
metric per (dimension set x metric definition), a member's value is a number or a list of
numbers (up to 100), units and StorageResolution per metric definition.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stewardtools.localcloud.clock import SimulatedClock

log = logging.getLogger(__name__)

_PUT_BATCH = 500  # PutMetricData takes up to 1000 metric data per call


@dataclass(frozen=True)
class EmfMetric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    unit: str = "None"
    timestamp: dt.datetime | None = None
    storage_resolution: int = 60

    def as_metric_datum(self, timestamp: dt.datetime) -> dict[str, Any]:
        datum: dict[str, Any] = {
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
            "Timestamp": timestamp,
            "Unit": self.unit,
            "StorageResolution": self.storage_resolution,
        }
        if len(self.values) == 1:
            datum["Value"] = self.values[0]
        else:
            datum["Values"] = list(self.values)
        return datum


def _numbers(value: Any) -> tuple[float, ...] | None:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        return None
    return tuple(float(v) for v in items)


def parse_emf_line(line: str) -> list[EmfMetric]:
    """The metrics of one log line; [] for anything that is not an EMF document."""
    text = line.strip()
    if not (text.startswith("{") and '"_aws"' in text):
        return []
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return []
    meta = document.get("_aws") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        return []
    timestamp = None
    if isinstance(meta.get("Timestamp"), int | float):
        timestamp = dt.datetime.fromtimestamp(meta["Timestamp"] / 1000.0, tz=dt.UTC)
    metrics: list[EmfMetric] = []
    for directive in meta.get("CloudWatchMetrics") or []:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str):
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        for definition in directive.get("Metrics") or []:
            name = definition.get("Name") if isinstance(definition, dict) else None
            values = _numbers(document.get(name)) if isinstance(name, str) else None
            if values is None:
                log.warning("EMF metric %r has no numeric value; skipped", name)
                continue
            for dimension_set in dimension_sets:
                if not all(isinstance(document.get(key), str) for key in dimension_set):
                    log.warning("EMF metric %r names a dimension without a string value; skipped", name)
                    continue
                metrics.append(
                    EmfMetric(
                        namespace=namespace,
                        name=name,  # type: ignore[arg-type]
                        dimensions=tuple((key, document[key]) for key in dimension_set),
                        values=values,
                        unit=str(definition.get("Unit") or "None"),
                        timestamp=timestamp,
                        storage_resolution=int(definition.get("StorageResolution") or 60),
                    )
                )
    return metrics


def parse_emf(lines: Iterable[str]) -> Iterator[EmfMetric]:
    for line in lines:
        yield from parse_emf_line(line)


@dataclass
class EmfBridge:
    """Replays EMF metrics into CloudWatch (a boto3 client) at simulated timestamps."""

    cloudwatch: Any
    clock: SimulatedClock
    published: list[EmfMetric] = field(default_factory=list)

    def replay(self, lines: Iterable[str]) -> int:
        """Put every metric of the EMF lines; returns how many metrics were put."""
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        metrics = list(parse_emf(lines))
        for metric in metrics:
            moment = self.clock.simulated(metric.timestamp) if metric.timestamp else self.clock.now()
            by_namespace.setdefault(metric.namespace, []).append(metric.as_metric_datum(moment))
        self._put(by_namespace)
        self.published.extend(metrics)
        return len(metrics)

    def put(self, namespace: str, data: list[dict[str, Any]]) -> None:
        """Put metric data directly (service metrics such as AWS/Lambda Invocations)."""
        self._put({namespace: data})

    def _put(self, by_namespace: Mapping[str, list[dict[str, Any]]]) -> None:
        for namespace, data in by_namespace.items():
            for start in range(0, len(data), _PUT_BATCH):
                self.cloudwatch.put_metric_data(
                    Namespace=namespace, MetricData=data[start : start + _PUT_BATCH]
                )
