"""Evaluates moto's CloudWatch alarms and runs their actions, as CloudWatch does on AWS.

moto stores alarms and metrics but never evaluates an alarm, starts alarms in OK (AWS:
INSUFFICIENT_DATA), runs no action on SetAlarmState and has no alarm history. This module:

* :meth:`AlarmEngine.evaluate` reads every alarm (DescribeAlarms) and the stored metric data,
  decides each state with :mod:`.alarms` at the simulated ``now``, and calls SetAlarmState on a
  change (composite alarms after the metric alarms they name, until nothing changes);
* :func:`install` hooks moto's CloudWatch backend so that any state change - from the engine or
  from a user's ``aws cloudwatch set-alarm-state`` - publishes CloudWatch's alarm notification
  JSON to the alarm's AlarmActions / OKActions / InsufficientDataActions (SNS topics, or Lambda
  functions with the CloudWatch alarm event), and is appended to the alarm history; new alarms
  start in INSUFFICIENT_DATA, an updated alarm keeps its state (as on AWS);
* before evaluating, metrics AWS would publish by itself for alarmed resources are sampled:
  ``AWS/SQS ApproximateNumberOfMessagesVisible`` of queues (the Lambda runtime publishes
  ``AWS/Lambda`` Invocations/Errors/Duration itself).

Metric-math alarms (``Metrics``) are not evaluated (logged once).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.errors import ConfigError
from stewardtools.localcloud import motohooks
from stewardtools.localcloud.alarms import (
    INSUFFICIENT_DATA,
    AlarmState,
    MetricAlarmDefinition,
    Sample,
    evaluate_composite,
    evaluate_metric_alarm,
    evaluation_range,
    format_timestamp,
    parse_alarm_rule,
)
from stewardtools.localcloud.clock import SimulatedClock

log = logging.getLogger(__name__)

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
}
INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass(frozen=True)
class AlarmChange:
    """One state transition (the local stand-in for DescribeAlarmHistory's StateUpdate items)."""

    alarm_name: str
    alarm_type: str  # MetricAlarm | CompositeAlarm
    old_state: str
    new_state: str
    reason: str
    timestamp: dt.datetime
    actions: tuple[str, ...] = ()
    notification: dict[str, Any] = field(default_factory=dict)
    muted: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "alarm_name": self.alarm_name,
            "alarm_type": self.alarm_type,
            "old_state": self.old_state,
            "new_state": self.new_state,
            "reason": self.reason,
            "timestamp": self.timestamp.isoformat(),
            "actions": list(self.actions),
            "muted": self.muted,
        }


class AlarmEngine:
    def __init__(
        self,
        *,
        client_factory: Callable[[str], Any],
        clock: SimulatedClock,
        account_id: str,
        region: str,
        history_path: Path | None = None,
        invoke_lambda: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._client = client_factory
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.history: list[AlarmChange] = []
        self._history_path = history_path
        self._invoke_lambda = invoke_lambda
        self._muted = 0
        self._lock = threading.RLock()
        self._history_lock = threading.Lock()
        self._skipped: set[str] = set()

    # -- evaluation
    def evaluate(self) -> list[AlarmChange]:
        """Evaluate every alarm at ``clock.now()``; return the state changes it caused."""
        with self._lock:
            before = len(self.history)
            now = self.clock.now()
            metric_alarms, composite_alarms = self._describe()
            self._sample_service_metrics(metric_alarms, now)
            samples = _index(motohooks.metric_samples(self.account_id, self.region))
            states: dict[str, AlarmState] = {}
            for alarm in metric_alarms:
                try:
                    states[alarm["AlarmName"]] = self._evaluate_metric_alarm(alarm, samples, now)
                except ConfigError as exc:  # an alarm CloudWatch would refuse: say so, keep going
                    self._skip(alarm["AlarmName"], str(exc))
                    states[alarm["AlarmName"]] = alarm["StateValue"]
            for _ in range(len(composite_alarms) + 1):
                changed = False
                for alarm in composite_alarms:
                    current = states.get(alarm["AlarmName"], alarm["StateValue"])
                    try:
                        result = evaluate_composite(alarm["AlarmRule"], states)
                    except ConfigError as exc:
                        self._skip(alarm["AlarmName"], str(exc))
                        continue
                    states[alarm["AlarmName"]] = result.state
                    if result.state != current:
                        self._set_state(alarm["AlarmName"], result.state, result.reason, {})
                        changed = True
                if not changed:
                    break
            return self.history[before:]

    def _describe(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        cloudwatch = self._client("cloudwatch")
        metric: list[dict[str, Any]] = []
        composite: list[dict[str, Any]] = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        ):
            metric.extend(page.get("MetricAlarms", []))
            composite.extend(page.get("CompositeAlarms", []))
        return metric, composite

    def _evaluate_metric_alarm(
        self, alarm: dict[str, Any], samples: dict[tuple[str, str], list[Any]], now: dt.datetime
    ) -> AlarmState:
        current: AlarmState = alarm["StateValue"]
        name = alarm["AlarmName"]
        if alarm.get("Metrics") or not alarm.get("MetricName"):
            self._skip(name, "metric math is not evaluated by the local cloud")
            return current
        definition = MetricAlarmDefinition(
            name=name,
            period=int(alarm["Period"]),
            evaluation_periods=int(alarm["EvaluationPeriods"]),
            threshold=float(alarm["Threshold"]),
            comparison_operator=alarm["ComparisonOperator"],
            statistic=alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average",
            datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
            treat_missing_data=alarm.get("TreatMissingData") or "missing",
            evaluate_low_sample_count_percentile=alarm.get("EvaluateLowSampleCountPercentile"),
        )
        wanted = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        unit = alarm.get("Unit")
        matching = [
            _sample(datum)
            for datum in samples.get((alarm.get("Namespace", ""), alarm["MetricName"]), [])
            if {d.name: d.value for d in datum.dimensions} == wanted and (not unit or datum.unit == unit)
        ]
        result = evaluate_metric_alarm(definition, evaluation_range(definition, matching, now), current)
        if result.state != current and not result.retained:
            self._set_state(name, result.state, result.reason, result.reason_data(definition, now))
        return result.state

    def _skip(self, name: str, why: str) -> None:
        if name not in self._skipped:
            log.warning("alarm %s not evaluated: %s", name, why)
            self._skipped.add(name)

    def _set_state(self, name: str, state: str, reason: str, reason_data: dict[str, Any]) -> None:
        self._client("cloudwatch").set_alarm_state(
            AlarmName=name,
            StateValue=state,
            StateReason=reason[:1023],
            StateReasonData=json.dumps(reason_data, default=str),
        )

    def _sample_service_metrics(self, alarms: list[dict[str, Any]], now: dt.datetime) -> None:
        """Queue depth metrics that AWS/SQS publishes every minute, for the queues alarms watch."""
        queues = {
            d["Value"]
            for alarm in alarms
            if alarm.get("Namespace") == "AWS/SQS"
            and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            for d in alarm.get("Dimensions", [])
            if d["Name"] == "QueueName"
        }
        if not queues:
            return
        sqs = self._client("sqs")
        data = []
        for queue in sorted(queues):
            try:
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )
            except Exception:  # a queue that does not exist has no metric, as on AWS
                log.debug("queue %s not found: no depth metric", queue)
                continue
            data.append(
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": queue}],
                    "Timestamp": now,
                    "Unit": "Count",
                    "Value": float(attributes["Attributes"].get("ApproximateNumberOfMessages", 0)),
                }
            )
        if data:
            self._client("cloudwatch").put_metric_data(Namespace="AWS/SQS", MetricData=data)

    # -- actions (called from the moto hook)
    @contextlib.contextmanager
    def muted(self) -> Iterator[None]:
        """State changes inside this block run no action (used while deploying)."""
        with self._lock:
            self._muted += 1
        try:
            yield
        finally:
            with self._lock:
                self._muted -= 1

    def on_state_change(self, backend: Any, alarm: Any, old_state: str) -> AlarmChange:
        composite = bool(getattr(alarm, "rule", None))
        now = self.clock.now()
        notification = self.notification(backend, alarm, old_state, now)
        enabled = bool(getattr(alarm, "actions_enabled", True))
        by_state = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }
        actions = by_state.get(alarm.state_value) or []
        muted = self._muted > 0
        change = AlarmChange(
            alarm_name=alarm.name,
            alarm_type="CompositeAlarm" if composite else "MetricAlarm",
            old_state=old_state,
            new_state=alarm.state_value,
            reason=alarm.state_reason,
            timestamp=now,
            actions=tuple(actions) if enabled and not muted else (),
            notification=notification,
            muted=muted,
        )
        with self._history_lock:  # not self._lock: evaluate() holds it while moto calls this hook
            self.history.append(change)
            if self._history_path is not None:
                self._history_path.parent.mkdir(parents=True, exist_ok=True)
                with self._history_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(change.summary()) + "\n")
        for action in change.actions:
            self._run_action(backend, action, alarm, notification)
        if not composite:
            self._cascade(backend, alarm)
        return change

    def _cascade(self, backend: Any, child: Any) -> None:
        """Composite alarms naming ``child`` re-evaluate when it changes, as on AWS (SetAlarmState of a
        child, e.g. the suite mirroring an episode, must move its composite without waiting)."""
        states = {a.name: a.state_value for a in backend.alarms.values()}
        for other in list(backend.alarms.values()):
            rule = getattr(other, "rule", None)
            if not rule:
                continue
            try:
                result = evaluate_composite(rule, states)
                named = parse_alarm_rule(rule).alarms()
            except ConfigError:
                continue
            if child.name in named and result.state != other.state_value:
                backend.set_alarm_state(other.name, result.reason, "{}", result.state)

    def notification(self, backend: Any, alarm: Any, old_state: str, now: dt.datetime) -> dict[str, Any]:
        """CloudWatch's alarm notification JSON (what SNS subscribers receive)."""
        message: dict[str, Any] = {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description or None,
            "AWSAccountId": self.account_id,
            "AlarmConfigurationUpdatedTimestamp": format_timestamp(alarm.configuration_updated_timestamp),
            "NewStateValue": alarm.state_value,
            "NewStateReason": alarm.state_reason,
            "StateChangeTime": format_timestamp(now),
            "Region": REGION_NAMES.get(self.region, self.region),
            "AlarmArn": alarm.alarm_arn,
            "OldStateValue": old_state,
            "OKActions": list(alarm.ok_actions or []),
            "AlarmActions": list(alarm.alarm_actions or []),
            "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        }
        if getattr(alarm, "rule", None):
            message["AlarmRule"] = alarm.rule
            named = parse_alarm_rule(alarm.rule).alarms()
            message["TriggeringChildren"] = [
                {
                    "Arn": child.alarm_arn,
                    "State": {
                        "Value": child.state_value,
                        "Timestamp": format_timestamp(child.state_updated_timestamp),
                    },
                }
                for child in backend.alarms.values()
                if child.name in named
            ]
            return message
        percentile = alarm.extended_statistic
        trigger: dict[str, Any] = {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if percentile else "Statistic",
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        }
        if percentile:
            trigger["ExtendedStatistic"] = percentile
        else:
            trigger["Statistic"] = str(alarm.statistic or "").upper()
        message["Trigger"] = trigger
        return message

    def _run_action(self, backend: Any, action: str, alarm: Any, notification: dict[str, Any]) -> None:
        service = action.split(":")[2] if action.count(":") >= 2 else ""
        try:
            if service == "sns":
                subject = f'{alarm.state_value}: "{alarm.name}" in {notification["Region"]}'
                if len(subject) > 100:
                    subject = subject[:97] + "..."
                motohooks.sns_backend_for(action).publish(
                    json.dumps(notification), arn=action, subject=subject
                )
            elif service == "lambda" and self._invoke_lambda is not None:
                self._invoke_lambda(action, self._lambda_event(alarm, notification))
            else:
                log.warning("alarm %s: action %s is not supported locally", alarm.name, action)
        except Exception:
            log.exception("alarm %s: action %s failed", alarm.name, action)

    def _lambda_event(self, alarm: Any, notification: dict[str, Any]) -> dict[str, Any]:
        """The event CloudWatch sends when a Lambda function is itself the alarm action."""
        return {
            "source": "aws.cloudwatch",
            "alarmArn": alarm.alarm_arn,
            "accountId": self.account_id,
            "time": notification["StateChangeTime"],
            "region": self.region,
            "alarmData": {
                "alarmName": alarm.name,
                "state": {
                    "value": alarm.state_value,
                    "reason": alarm.state_reason,
                    "reasonData": alarm.state_reason_data,
                    "timestamp": notification["StateChangeTime"],
                },
                "previousState": {"value": notification["OldStateValue"]},
                "configuration": {"description": alarm.description},
            },
        }


def _index(data: list[Any]) -> dict[tuple[str, str], list[Any]]:
    index: dict[tuple[str, str], list[Any]] = {}
    for datum in data:
        index.setdefault((datum.namespace, datum.name), []).append(datum)
    return index


def _sample(datum: Any) -> Sample:
    if hasattr(datum, "value"):
        return Sample(datum.timestamp, value=float(datum.value))
    return Sample(
        datum.timestamp,
        sum=float(datum.sum),
        minimum=float(datum.min),
        maximum=float(datum.max),
        count=float(datum.sample_count),
    )


# --- moto hooks ------------------------------------------------------------------------------------
_ACTIVE: AlarmEngine | None = None
_ORIGINALS: dict[str, Any] = {}


def _dimension_pairs(datum: Any) -> list[tuple[str, str]]:
    return sorted((d.name, d.value) for d in datum.dimensions)


def activate(engine: AlarmEngine | None) -> None:
    global _ACTIVE
    _ACTIVE = engine
    if engine is not None:
        install()


def install() -> None:
    if _ORIGINALS:
        return
    cls = motohooks.cloudwatch_backend_class()
    original_set, original_put = cls.set_alarm_state, cls.put_metric_alarm
    _ORIGINALS.update(set_alarm_state=original_set, put_metric_alarm=original_put)

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old = alarm.state_value if alarm is not None else None
        original_set(self, alarm_name, reason, reason_data, state_value)
        engine = _ACTIVE
        if engine is not None and alarm is not None and old != state_value:
            engine.on_state_change(self, self.alarms[alarm_name], old or INSUFFICIENT_DATA)

    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original_put(self, name, *args, **kwargs)
        if _ACTIVE is not None:
            if previous is None:
                alarm.state_value, alarm.state_reason = INSUFFICIENT_DATA, INITIAL_REASON
            else:
                alarm.state_value, alarm.state_reason = previous.state_value, previous.state_reason
                alarm.state_reason_data = previous.state_reason_data
        return alarm

    original_statistics = cls.get_metric_statistics
    _ORIGINALS["get_metric_statistics"] = original_statistics

    def get_metric_statistics(
        self: Any,
        namespace: str,
        metric_name: str,
        start_time: Any,
        end_time: Any,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> Any:
        # CloudWatch names a metric by its exact dimension set: {model} is not {model, variant}.
        # moto matches any datum whose dimensions include the asked ones, so a per-variant value
        # leaked into the model-level statistics (issue 23: the challenger's estimate under {model})
        wanted = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
        kept = []
        found = original_statistics(
            self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
        )
        for statistics in found:
            statistics.metric_data = [md for md in statistics.metric_data if _dimension_pairs(md) == wanted]
            if statistics.metric_data:
                kept.append(statistics)
        return kept

    cls.set_alarm_state = set_alarm_state
    cls.put_metric_alarm = put_metric_alarm
    cls.get_metric_statistics = get_metric_statistics
    responses = motohooks.cloudwatch_response_class()
    if not hasattr(responses, "put_composite_alarm"):
        # moto 5.2 parses AlarmRule in PutMetricAlarm "to re-use this method for composite alarms"
        # but routes no PutCompositeAlarm action to it
        responses.put_composite_alarm = responses.put_metric_alarm
        _ORIGINALS["added_put_composite_alarm"] = True


def uninstall() -> None:
    global _ACTIVE
    _ACTIVE = None
    if _ORIGINALS:
        cls = motohooks.cloudwatch_backend_class()
        cls.set_alarm_state = _ORIGINALS.pop("set_alarm_state")
        cls.put_metric_alarm = _ORIGINALS.pop("put_metric_alarm")
        cls.get_metric_statistics = _ORIGINALS.pop("get_metric_statistics")
        if _ORIGINALS.pop("added_put_composite_alarm", False):
            del motohooks.cloudwatch_response_class().put_composite_alarm
