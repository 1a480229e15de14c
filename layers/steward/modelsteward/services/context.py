"""The ports a service needs, built once per process from the function's settings.

Handlers call ``Context.from_environment()`` on first use (never at import); tests build a
Context from fakes or moto-backed adapters directly.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..clock import utcnow
from ..config import Settings, settings
from ..ports import (
    AlarmCatalog,
    AlarmLookup,
    AlarmStates,
    AuditLog,
    EpisodeStore,
    Executions,
    Invoker,
    MetricsSink,
    Notifier,
    ObjectStore,
    Registry,
)


@dataclass
class Context:
    settings: Settings
    store: ObjectStore
    metrics: MetricsSink
    notifier: Notifier | None = None
    invoker: Invoker | None = None
    registry: Registry | None = None
    audit: AuditLog | None = None
    alarm_states: AlarmStates | None = None
    episodes: EpisodeStore | None = None
    alarm_lookup: AlarmLookup | None = None
    alarm_catalog: AlarmCatalog | None = None
    executions: Executions | None = None
    actor: str = "steward"
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    def record(self, action: str, **fields: Any) -> dict[str, Any] | None:
        """Append one audit record (who = this context's actor) if an audit log is wired."""
        if self.audit is None:
            return None
        event: dict[str, Any] = {"action": action, "actor": fields.pop("actor", self.actor), **fields}
        return self.audit.append(event)

    def record_once(self, action: str, key: Mapping[str, Any], **fields: Any) -> dict[str, Any] | None:
        """``record`` at most once per (action, key): a retried run never repeats an appended record."""
        from ..idempotency import run_once

        return run_once(f"audit:{action}", key, lambda: self.record(action, **fields) or {}) or None

    @classmethod
    def from_environment(cls, actor: str) -> Context:
        return _context_for(actor)


def _email_links(s: Settings) -> Callable[[str], str]:
    """Emails carry console links of the deployed region (or local paths on the local cloud)."""
    from ..links import dashboard_name, render_links

    dashboard = dashboard_name(s.stack_name, s.region) if s.stack_name else None
    return functools.partial(
        render_links, region=s.region, dashboard=dashboard, local_objects=s.local_objects or None
    )


@functools.cache
def _context_for(actor: str) -> Context:
    from ..adapters.metrics import EmfMetrics

    s = settings()
    return wire(s, actor=actor, metrics=EmfMetrics(s.metrics_namespace))


def wire(s: Settings, *, actor: str, metrics: MetricsSink) -> Context:
    """The composition root: every adapter a service may use, built from one set of settings (a
    function's environment, or a stack's outputs for the CLI). A port stays None when its resource
    is not configured."""
    from ..adapters.alarm_lookup import CloudWatchAlarmLookup
    from ..adapters.cloudwatch_alarms import CloudWatchAlarmCatalog, CloudWatchAlarmStates
    from ..adapters.dynamodb_audit import DynamoAuditLog
    from ..adapters.dynamodb_episodes import DynamoEpisodeStore
    from ..adapters.dynamodb_registry import DynamoRegistry
    from ..adapters.lambda_invoke import LambdaInvoker
    from ..adapters.s3 import S3ObjectStore
    from ..adapters.sns import SnsNotifier
    from ..adapters.stepfunctions import StepFunctionsStarter

    store = S3ObjectStore()
    return Context(
        settings=s,
        store=store,
        metrics=metrics,
        notifier=SnsNotifier(topic, render=_email_links(s)) if (topic := s.notifications_topic_arn) else None,
        invoker=LambdaInvoker(),
        registry=DynamoRegistry(s.registry_table) if s.registry_table else None,
        audit=DynamoAuditLog(s.audit_table, export_bucket=s.audit_bucket or None, store=store)
        if s.audit_table
        else None,
        alarm_states=CloudWatchAlarmStates(),
        episodes=DynamoEpisodeStore(s.episodes_table) if s.episodes_table else None,
        alarm_lookup=CloudWatchAlarmLookup(),
        alarm_catalog=CloudWatchAlarmCatalog(),
        executions=StepFunctionsStarter() if s.scale_out_state_machine_arn else None,
        actor=actor,
    )


def reset_contexts() -> None:
    _context_for.cache_clear()
