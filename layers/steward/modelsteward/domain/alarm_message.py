"""CloudWatch alarm notifications (as SNS delivers them) and which alarm of the suite they speak of.

Powertools has no parser model for this message, so :class:`AlarmNotification` is one: the JSON
CloudWatch publishes to an alarm's SNS actions (metric alarms carry ``Trigger``, composite alarms
``AlarmRule`` and ``TriggeringChildren``). Unknown fields are kept, absent optional ones are None:
AWS adds fields over time and a notifier must never crash on them.

:func:`identify` says what an alarm is, in this order of trust:

1. the tags that template.yaml writes at the start of every AlarmDescription,
   ``model=<m>;signal=<s>;stage=<S>;stack=<stack> | sentence`` (suite alarms:
   ``scope=suite;signal=...;function=...``);
2. the naming contract ``<stack>-<model>-<signal>`` (signal is snake_case, so the model is what lies
   between the stack name and the signal) and ``<stack>-ops-<function>-errors|throttles`` or
   ``<stack>-ops-dlq-depth``, when the stack's name is known; the names of before (``model-steward-
   <stage>-<model>-<signal>``, ``steward-ops-<stage>-...``) are still understood;
3. a ``model`` dimension of the metric (an alarm a user made by hand on a suite metric).

Anything else is ``foreign``: not an alarm of this suite.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidInput

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
AlarmKind = Literal["model", "suite", "foreign"]

#: Per-model signals of template.yaml (docs/alerts.md describes each).
SIGNALS = (
    "drift",
    "multivariate_drift",
    "data_drift",
    "quality",
    "pii",
    "realized_drop",
    "estimated_drop",
    "latency",
    "scoring_errors",
    "freshness",
    "bias",
    "realized_bias",
    "attribution_drift",
)
#: Composite signal -> the metric-alarm signals its rule combines.
COMPOSITE_CHILDREN = {"data_drift": ("drift", "multivariate_drift")}

_MODEL_ALARM = re.compile(
    r"^model-steward-(?P<stage>[a-z0-9]+)-(?P<model>[a-z0-9][a-z0-9-]*)-(?P<signal>[a-z_]+)$"
)
_FUNCTION_ALARM = re.compile(
    r"^steward-ops-(?P<stage>[a-z0-9]+)-(?P<function>[a-z_]+)-(?P<signal>errors|throttles)$"
)
_DLQ_ALARM = re.compile(r"^steward-ops-(?P<stage>[a-z0-9]+)-dlq-depth$")
#: what follows ``<stack>-`` in the names template.yaml gives (alarm names include the stack name)
_STACK_MODEL_ALARM = re.compile(r"^(?P<model>[a-z0-9][a-z0-9-]*)-(?P<signal>[a-z_]+)$")
_STACK_FUNCTION_ALARM = re.compile(r"^ops-(?P<function>[a-z_]+)-(?P<signal>errors|throttles)$")
_STACK_DLQ_ALARM = "ops-dlq-depth"
_TAG = re.compile(r"^\s*([a-z_]+)=([^;|]*)\s*$")
_REASON_VALUES = re.compile(r"\[([^\]]*)\]")
_NUMBER_BEFORE_DATE = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*\(")

_COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "< lower band",
    "GreaterThanUpperThreshold": "> upper band",
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TriggerDimension(_Lenient):
    name: str
    value: str


class AlarmTrigger(_Lenient):
    """The metric and the rule of a metric alarm, as CloudWatch states them in the notification."""

    MetricName: str | None = None
    Namespace: str | None = None
    StatisticType: str | None = None
    Statistic: str | None = None
    ExtendedStatistic: str | None = None
    Unit: str | None = None
    Dimensions: list[TriggerDimension] = Field(default_factory=list)
    Period: int | None = None
    EvaluationPeriods: int | None = None
    DatapointsToAlarm: int | None = None
    ComparisonOperator: str | None = None
    Threshold: float | None = None
    TreatMissingData: str | None = None

    @property
    def statistic(self) -> str:
        """``Maximum``, ``Sum``, ``p95``...: CloudWatch sends ``MAXIMUM``; people read ``Maximum``."""
        if self.ExtendedStatistic:
            return self.ExtendedStatistic
        return (self.Statistic or "").capitalize().replace("Samplecount", "SampleCount")

    @property
    def m_of_n(self) -> tuple[int, int] | None:
        """(datapoints to alarm, evaluation periods): the de-noising rule."""
        if not self.EvaluationPeriods:
            return None
        return (self.DatapointsToAlarm or self.EvaluationPeriods, self.EvaluationPeriods)

    @property
    def comparison(self) -> str:
        op = self.ComparisonOperator or ""
        return _COMPARISON_WORDS.get(op, op)

    def dimension(self, name: str) -> str | None:
        for d in self.Dimensions:
            if d.name == name:
                return d.value
        return None


class ChildState(_Lenient):
    Value: str
    Timestamp: str | None = None


class TriggeringChild(_Lenient):
    Arn: str
    State: ChildState | None = None

    @property
    def name(self) -> str:
        return alarm_name_from_arn(self.Arn)


class AlarmNotification(_Lenient):
    """The message CloudWatch publishes to SNS when an alarm changes state."""

    AlarmName: str = Field(min_length=1)
    AlarmDescription: str | None = None
    AWSAccountId: str | None = None
    NewStateValue: AlarmState
    NewStateReason: str = ""
    StateChangeTime: str
    Region: str | None = None
    AlarmArn: str | None = None
    OldStateValue: AlarmState | None = None
    Trigger: AlarmTrigger | None = None
    AlarmRule: str | None = None
    TriggeringChildren: list[TriggeringChild] = Field(default_factory=list)

    @property
    def changed_at(self) -> dt.datetime:
        return parse_state_change_time(self.StateChangeTime)

    @property
    def is_composite(self) -> bool:
        return self.AlarmRule is not None or bool(self.TriggeringChildren)

    @property
    def reported_values(self) -> list[float]:
        """The datapoints CloudWatch quotes in NewStateReason (newest first), if any."""
        return reason_values(self.NewStateReason)

    def children_in_alarm(self) -> list[TriggeringChild]:
        return [c for c in self.TriggeringChildren if c.State is not None and c.State.Value == "ALARM"]


@dataclass(frozen=True)
class AlarmIdentity:
    """What an alarm watches: a model's signal, a suite function's health, or nothing of ours."""

    kind: AlarmKind
    name: str
    stage: str | None = None
    model: str | None = None
    signal: str | None = None
    function: str | None = None

    @property
    def is_model(self) -> bool:
        return self.kind == "model" and self.model is not None and self.signal is not None


def parse_alarm_message(message: str | bytes | dict[str, Any]) -> AlarmNotification:
    """The SNS ``Message`` (JSON text) of a CloudWatch alarm; InvalidInput names what is wrong."""
    data: Any = message
    if isinstance(message, str | bytes):
        try:
            data = json.loads(message)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the alarms topic received a message that is not JSON ({str(exc)[:80]}): only CloudWatch "
                "alarm notifications belong there",
                code="not_an_alarm",
            ) from exc
    if not isinstance(data, dict):
        raise InvalidInput("an alarm notification must be a JSON object", code="not_an_alarm")
    try:
        notification = AlarmNotification.model_validate(data)
        notification.changed_at  # noqa: B018 - validate the timestamp now, not in the middle of handling
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(
            f"not a CloudWatch alarm notification: {_first_error(exc)}", code="not_an_alarm"
        ) from exc
    return notification


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
    return str(exc)[:200]


def parse_state_change_time(text: str) -> dt.datetime:
    """CloudWatch's ``2026-01-01T10:05:00.000+0000`` (or any ISO 8601 form) as an aware UTC datetime."""
    value = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(value, fmt).astimezone(dt.UTC)
        except ValueError:
            continue
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"StateChangeTime '{text}' is not a timestamp") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def reason_values(reason: str) -> list[float]:
    """Numbers quoted in a state reason: '... datapoints [0.8 (01/01/26 10:00:00), 0.6 (...)] ...'."""
    match = _REASON_VALUES.search(reason or "")
    if not match:
        return []
    return [float(v) for v in _NUMBER_BEFORE_DATE.findall(match.group(1))]


def alarm_name_from_arn(arn: str) -> str:
    """``arn:aws:cloudwatch:<region>:<account>:alarm:<name>`` -> ``<name>`` (names may hold ':')."""
    return arn.split(":alarm:", 1)[1] if ":alarm:" in arn else arn


def description_tags(description: str | None) -> dict[str, str]:
    """``model=m;signal=s;stage=S | sentence`` -> {"model": "m", "signal": "s", "stage": "S"}."""
    if not description:
        return {}
    head = description.split("|", 1)[0]
    tags: dict[str, str] = {}
    for part in head.split(";"):
        match = _TAG.match(part)
        if match is None:
            return {}  # not our tag line: trust none of it
        tags[match.group(1)] = match.group(2).strip()
    return tags


def description_sentence(description: str | None) -> str:
    """The human part of a suite alarm's description (after ``|``), or the whole description."""
    if not description:
        return ""
    return description.split("|", 1)[1].strip() if "|" in description else description.strip()


def model_alarm_name(stack: str, model: str, signal: str) -> str:
    """The name template.yaml gives a model's alarm: ``<stack>-<model>-<signal>``."""
    return f"{stack}-{model}-{signal}"


def model_alarm_prefix(stack: str, model: str) -> str:
    """The prefix every alarm of one model shares (the signal that follows has no '-')."""
    return f"{stack}-{model}-"


def identify(notification: AlarmNotification, *, stack: str | None = None) -> AlarmIdentity:
    """Which alarm this is (see the module docstring for the order of trust). ``stack``: the
    stack's name (Settings.stack_name), which starts the names of its alarms."""
    name = notification.AlarmName
    tags = description_tags(notification.AlarmDescription)
    if tags.get("scope") == "suite":
        return AlarmIdentity(
            "suite", name, tags.get("stage"), signal=tags.get("signal"), function=tags.get("function")
        )
    if tags.get("model") and tags.get("signal"):
        return AlarmIdentity("model", name, tags.get("stage"), tags["model"], tags["signal"])
    if stack and name.startswith(f"{stack}-"):
        identity = _identify_in_stack(name, name[len(stack) + 1 :])
        if identity is not None:
            return identity
    match = _MODEL_ALARM.match(name)
    if match and match["signal"] in SIGNALS:
        return AlarmIdentity("model", name, match["stage"], match["model"], match["signal"])
    match = _FUNCTION_ALARM.match(name)
    if match:
        return AlarmIdentity(
            "suite", name, match["stage"], signal=f"function_{match['signal']}", function=match["function"]
        )
    match = _DLQ_ALARM.match(name)
    if match:
        return AlarmIdentity("suite", name, match["stage"], signal="dlq_depth")
    model = notification.Trigger.dimension("model") if notification.Trigger else None
    if model:
        metric = notification.Trigger.MetricName if notification.Trigger else None
        return AlarmIdentity("model", name, None, model, _signal_of_metric(metric))
    return AlarmIdentity("foreign", name)


def _identify_in_stack(name: str, rest: str) -> AlarmIdentity | None:
    """``rest``: the alarm's name after ``<stack>-``."""
    if rest == _STACK_DLQ_ALARM:
        return AlarmIdentity("suite", name, None, signal="dlq_depth")
    match = _STACK_FUNCTION_ALARM.match(rest)
    if match:
        return AlarmIdentity(
            "suite", name, None, signal=f"function_{match['signal']}", function=match["function"]
        )
    match = _STACK_MODEL_ALARM.match(rest)
    if match and match["signal"] in SIGNALS:
        return AlarmIdentity("model", name, None, match["model"], match["signal"])
    return None


#: Metric -> signal, for alarms people add by hand on the suite's metrics.
METRIC_SIGNALS = {
    "DriftedFeatureShare": "drift",
    "DatasetDrift": "drift",
    "FeatureDriftScore": "drift",
    "WindowDriftedFeatureShare": "drift",
    "MultivariateDriftAuc": "multivariate_drift",
    "QualityViolations": "quality",
    "PiiFindings": "pii",
    "RealizedPrimaryMetricDrop": "realized_drop",
    "EstimatedPrimaryMetricDrop": "estimated_drop",
    "ScoringLatencyP95": "latency",
    "ScoringErrors": "scoring_errors",
    "BatchAccepted": "freshness",
    "HoursSinceLastBatch": "freshness",
    "BiasBreach": "bias",
    "RealizedBiasBreach": "realized_bias",
    "AttributionNdcg": "attribution_drift",
}


def _signal_of_metric(metric: str | None) -> str:
    return METRIC_SIGNALS.get(metric or "", "custom")
