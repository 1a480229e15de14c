"""Reading the suite's CloudWatch metrics back from the local cloud, as a user would with boto3."""

from __future__ import annotations

from typing import Any


def datapoints(
    cloud: Any,
    name: str,
    dims: dict[str, str],
    *,
    statistics: tuple[str, ...] = ("Maximum",),
    period: int = 60,
) -> list[dict[str, Any]]:
    """GetMetricStatistics of ``ModelSteward/<name>`` with exactly ``dims``, over the year around now."""
    stats = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="ModelSteward",
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=cloud.now.replace(year=cloud.now.year - 1),
        EndTime=cloud.now.replace(year=cloud.now.year + 1),
        Period=period,
        Statistics=list(statistics),
    )
    return list(stats["Datapoints"])
