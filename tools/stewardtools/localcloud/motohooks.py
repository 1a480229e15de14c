"""Every private moto interface the local cloud relies on, in one place.

moto is pinned to ``>=5.2.5,<5.3``; tests/integration/test_moto_assumptions.py checks each of
these against the installed moto and fails with a pointed message when an upgrade moves one.
Public API calls (boto3 against moto) are used everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFAULT_ACCOUNT = "123456789012"


def lambda_function_class() -> type[Any]:
    """``moto.awslambda.models.LambdaFunction``: ``invoke(body, request_headers, response_headers)``
    calls ``_invoke_lambda(event)`` which returns ``(payload, errored, logs)``."""
    from moto.awslambda.models import LambdaFunction

    return LambdaFunction


def lambda_function(function_name: str, function_arn: str, region: str) -> Any:
    """The moto LambdaFunction object (for its CloudFormation-resolved ``environment_vars``)."""
    from moto.awslambda.models import lambda_backends

    account = function_arn.split(":")[4] if function_arn.count(":") >= 5 else DEFAULT_ACCOUNT
    return lambda_backends[account][region].get_function(function_name)


def s3_event_builder() -> Callable[..., dict[str, Any]]:
    """``moto.s3.notifications._get_s3_event(event_name, bucket, key, notification_id)``."""
    from moto.s3 import notifications

    return notifications._get_s3_event  # type: ignore[no-any-return]


def set_s3_event_builder(builder: Callable[..., dict[str, Any]]) -> None:
    from moto.s3 import notifications

    notifications._get_s3_event = builder  # type: ignore[assignment]


def sns_subscription_class() -> type[Any]:
    """``moto.sns.models.Subscription``: ``publish(message, message_id, subject, message_attributes,
    group_id, deduplication_id, message_structure)``; ``protocol``, ``endpoint``, ``arn``, ``topic``,
    ``_filter_policy_matcher``, ``_parse_message_structure(message, protocol)``."""
    from moto.sns.models import Subscription

    return Subscription


def sns_topic(topic_arn: str) -> Any:
    """The moto Topic (``sent_notifications`` records every published message)."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    return sns_backends[parts[4]][parts[3]].topics[topic_arn]


def events_rule_class() -> type[Any]:
    """``moto.events.models.Rule``: ``send_to_targets(event, transform_input=True)``,
    ``scheduled_expression``, ``event_pattern``, ``targets``, ``state``."""
    from moto.events.models import Rule

    return Rule


def metric_samples(account: str, region: str) -> list[Any]:
    """Every stored CloudWatch datum: ``namespace``, ``name``, ``dimensions`` (``.name``/``.value``),
    ``timestamp`` (naive UTC), ``unit``; ``value`` for single values, or ``sum``/``min``/``max``/
    ``sample_count`` for statistic sets (MetricAggregatedDatum)."""
    from moto.cloudwatch.models import cloudwatch_backends

    return list(cloudwatch_backends[account][region].get_all_metrics())


def alarm_history_unsupported() -> bool:
    """True while moto lacks DescribeAlarmHistory (the local cloud keeps its own history)."""
    from moto.cloudwatch.models import CloudWatchBackend

    return not hasattr(CloudWatchBackend, "describe_alarm_history")


def cloudwatch_backend_class() -> type[Any]:
    """``moto.cloudwatch.models.CloudWatchBackend``: ``set_alarm_state(alarm_name, reason, reason_data,
    state_value)``, ``put_metric_alarm(name, ...)`` (also used for composite alarms, ``rule`` set),
    ``alarms`` (name -> Alarm with ``state_value``, ``state_reason``, ``alarm_actions`` ...)."""
    from moto.cloudwatch.models import CloudWatchBackend

    return CloudWatchBackend


def sns_backend_for(topic_arn: str) -> Any:
    """The SNS backend owning a topic: ``publish(message, arn=..., subject=...)`` fans out in-process."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    return sns_backends[parts[4]][parts[3]]


def cloudwatch_response_class() -> type[Any]:
    """``moto.cloudwatch.responses.CloudWatchResponse`` (dispatches an API action to the method of the
    same snake_case name; ``put_metric_alarm`` also reads ``AlarmRule``)."""
    from moto.cloudwatch.responses import CloudWatchResponse

    return CloudWatchResponse


def lambda_backend_module() -> Any:
    """``moto.awslambda.utils``: ``get_backend(account_id, region)`` honours the use_docker setting."""
    from moto.awslambda import utils

    return utils


def stepfunctions_backend_class() -> type[Any]:
    """``moto.stepfunctions.models.StepFunctionBackend``: ``start_execution(state_machine_arn, name,
    execution_input)`` returns an ``Execution`` with ``execution_arn``, ``name``, ``status``,
    ``stop_date``, ``output``, ``error``, ``cause`` (what DescribeExecution reports)."""
    from moto.stepfunctions.models import StepFunctionBackend

    return StepFunctionBackend


def finish_execution(
    execution: Any, status: str, output: str | None, error: str | None, cause: str | None
) -> None:
    """Record an execution's end on moto's Execution object (DescribeExecution reads it)."""
    from moto.core.utils import utcnow

    execution.status = status
    execution.stop_date = utcnow()
    execution.output = output
    execution.error = error
    execution.cause = cause
