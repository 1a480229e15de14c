"""handle_alarm: a CloudWatch alarm changed state -> one email a person can act on, and maybe a retrain.

For a model alarm (``<stack>-<model>-<signal>``):

* **ALARM** opens an episode (alarm name + the StateChangeTime of the transition into ALARM). The
  retrain policy (domain.alert_policy: spec ``retrain.on_alarms`` and ``cooldown_hours``) decides:
  retrain started / suppressed by cooldown / none. The decision is recorded on the model's registry
  STATE row with a condition on the row's version, so concurrent deliveries start ONE retrain; only
  after that write is train_model invoked (asynchronously, ``{"action": "retrain", ...}``, itself
  idempotent per episode). Then ONE email: which model, what crossed which threshold (metric,
  statistic, M of N, the values), since when, the top drifted features and links of the latest batch
  report, the champion's model card, what the suite did. Audit: ``alarm.handled`` plus
  ``retrain.requested`` or ``retrain.suppressed``.
* **OK** after ALARM closes the episode: one short recovery note.
* **INSUFFICIENT_DATA**: no email (recorded only).

A composite alarm (``data_drift``) is one root cause: one email listing its child alarms in ALARM.
Suite health alarms (``steward-ops-...``) get a short operational note, never a retrain; alarms of
anything else are recorded and left alone.

The same transition delivered twice is handled once (``run_once`` on alarm name + StateChangeTime
+ new state). Light on purpose: no numpy or pandas (the function runs on the steward layer only).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .. import layout, metric_names
from ..domain.alarm_message import (
    AlarmIdentity,
    AlarmNotification,
    AlarmTrigger,
    description_sentence,
    identify,
    parse_alarm_message,
    parse_state_change_time,
    reason_values,
)
from ..domain.alert_policy import (
    Decision,
    close_episode,
    decide,
    dedupe_key,
    duration_text,
    episodes_of,
    iso,
    mail_for,
    mark_invoked,
    parse_time,
    record_decision,
)
from ..domain.email import (
    AlarmFacts,
    EpisodeFacts,
    FeatureScore,
    ReportFacts,
    RuleFacts,
    alarm_email,
    ops_email,
    recovery_email,
)
from ..domain.episodes import SIGNALS as EPISODE_SIGNALS
from ..domain.episodes import SignalEpisode
from ..domain.window import newest
from ..errors import ConflictError, InvalidInput, NotFound, StewardError
from ..idempotency import run_once
from ..ports import AlarmLookup
from ..spec import ModelSpec
from .batch_index import BatchIndex
from .context import Context
from .episodes import COMPOSITE_CHILDREN, REASON_PREFIX, episode_book
from .specs import load_spec
from .training_data import training_data_available

if TYPE_CHECKING:
    from ..domain.report import BatchReport

log = logging.getLogger(__name__)

FUNCTION = "handle_alarm"
MAX_REPORT_READS = 50  # unindexed batch reports read to find the newest one (time budget)
MAX_STATE_ATTEMPTS = 5
#: Signals whose email lists the latest report's drifted features (evidence of the cause).
FEATURE_EVIDENCE = frozenset(
    {"drift", "multivariate_drift", "data_drift", "realized_drop", "estimated_drop", "custom"}
)  # conditional writes retried after a lost race before giving up (Lambda retries)
#: template.yaml's bucket names: ``<stack>-data-<region>-<id>`` (and ``<stack>-data-<account>`` before)
_DATA_BUCKET = re.compile(r"^(?P<stack>.+)-data-(?P<suffix>[a-z0-9][a-z0-9-]*)$")


# --- the event --------------------------------------------------------------------------------
def alarm_notifications(event: Mapping[str, Any]) -> list[AlarmNotification | InvalidInput]:
    """The alarm notifications of an SNS event (Powertools' SnsModel), one per record, or of a
    "CloudWatch Alarm State Change" delivered by EventBridge (one).

    A record whose message is not a CloudWatch alarm becomes an InvalidInput in its place (recorded,
    never retried); an event that is neither raises InvalidInput.
    """
    from aws_lambda_powertools.utilities.parser.models import SnsModel

    from ..events import alarm_message_from_eventbridge, is_alarm_state_change

    if is_alarm_state_change(event):
        try:
            return [parse_alarm_message(alarm_message_from_eventbridge(event))]
        except InvalidInput as exc:
            return [exc]
    try:
        messages = [str(record.Sns.Message) for record in SnsModel.model_validate(event).Records]
    except ValidationError as exc:
        # SNS's envelope with fields the strict model refuses (SAM's sample: "EXAMPLE" URLs): the
        # data class reads the messages; a message that is no alarm is still recorded, not retried
        records = event.get("Records")
        sns_records = (
            isinstance(records, list)
            and bool(records)
            and all(
                isinstance(r, Mapping) and isinstance(r.get("Sns"), Mapping) and "Message" in r["Sns"]
                for r in records
            )
        )
        if not sns_records:
            reason = f"handle_alarm expects an SNS event: {str(exc)[:200]}"
            raise InvalidInput(reason, code="bad_event") from exc
        from aws_lambda_powertools.utilities.data_classes import SNSEvent

        messages = [record.sns.message for record in SNSEvent(dict(event)).records]
    out: list[AlarmNotification | InvalidInput] = []
    for message in messages:
        try:
            out.append(parse_alarm_message(message))
        except InvalidInput as exc:
            out.append(exc)
    return out


def artifacts_bucket(ctx: Context) -> str | None:
    """ARTIFACTS_BUCKET, else the template's naming rule ``<stack>-artifacts-<region>-<id>`` derived
    from the data bucket ``<stack>-data-<region>-<id>`` (handle_alarm only reads reports and cards there)."""
    if ctx.settings.artifacts_bucket:
        return ctx.settings.artifacts_bucket
    match = _DATA_BUCKET.match(ctx.settings.data_bucket or "")
    return f"{match['stack']}-artifacts-{match['suffix']}" if match else None


# --- the use case -------------------------------------------------------------------------------
def handle_alarm(
    ctx: Context, notification: AlarmNotification, *, alarms: AlarmLookup | None = None
) -> dict[str, Any]:
    """Handle one state change, exactly once per (alarm, StateChangeTime, new state)."""
    key = dedupe_key(notification.AlarmName, notification.StateChangeTime, notification.NewStateValue)
    return run_once(FUNCTION, key, lambda: _handle(ctx, notification, alarms or ctx.alarm_lookup))


def _handle(ctx: Context, n: AlarmNotification, alarms: AlarmLookup | None) -> dict[str, Any]:
    identity = identify(n, stack=ctx.settings.stack_name)
    if identity.kind == "suite":
        return _suite_alarm(ctx, n, identity)
    if not identity.is_model:
        log.warning("alarm %s is not an alarm of this suite; ignored", n.AlarmName)
        ctx.record(
            "alarm.handled",
            reason=f"{n.AlarmName} {n.NewStateValue}: not a Model Steward alarm",
            details=_details(n, identity, decision="ignored", emailed=False),
        )
        return _summary(n, identity, "ignored", emailed=False)
    stale = _stale_mirror(ctx, n, identity)
    if stale is not None:
        return stale
    identity = _family(identity)
    if n.NewStateValue == "ALARM":
        return _alarm(ctx, n, identity, alarms)
    if n.NewStateValue == "OK":
        return _ok(ctx, n, identity)
    ctx.record(
        "alarm.handled",
        model=identity.model,
        reason=f"{identity.signal} {n.NewStateValue}: no email (not enough data to decide)",
        details=_details(n, identity, decision="none", emailed=False),
    )
    return _summary(n, identity, "none", emailed=False)


def _summary(n: AlarmNotification, identity: AlarmIdentity, decision: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "handled",
        "alarm": n.AlarmName,
        "kind": identity.kind,
        "model": identity.model,
        "signal": identity.signal,
        "state": n.NewStateValue,
        "decision": decision,
        **extra,
    }


def _details(n: AlarmNotification, identity: AlarmIdentity, **extra: Any) -> dict[str, Any]:
    return {
        "function": FUNCTION,
        "alarm": n.AlarmName,
        "signal": identity.signal,
        "state": n.NewStateValue,
        "old_state": n.OldStateValue,
        "changed_at": n.StateChangeTime,
        **extra,
    }


# --- ALARM --------------------------------------------------------------------------------------
def _spec(ctx: Context, model: str) -> tuple[ModelSpec | None, str | None]:
    try:
        spec, _ = load_spec(ctx, model)
    except InvalidInput as exc:
        return None, exc.message if exc.code == "invalid_spec" else "the model has no spec"
    return spec, None


def _decide(
    ctx: Context,
    identity: AlarmIdentity,
    since: dt.datetime,
    now: dt.datetime,
    spec: ModelSpec | None,
    spec_problem: str | None,
) -> tuple[Decision, bool]:
    """The decision, recorded on STATE under a version condition; (decision, train_model already invoked)."""
    model, alarm, signal = str(identity.model), identity.name, str(identity.signal)
    policy = spec.retrain if spec is not None else None
    trainable = _trainable(ctx, spec, signal)
    if ctx.registry is None:
        return decide(
            alarm=alarm,
            signal=signal,
            since=since,
            now=now,
            state={},
            policy=policy,
            spec_problem=spec_problem,
            has_training_data=trainable,
        ), False
    for _ in range(MAX_STATE_ATTEMPTS):
        state = ctx.registry.get_model_state(model)
        decision = decide(
            alarm=alarm,
            signal=signal,
            since=since,
            now=now,
            state=state,
            policy=policy,
            spec_problem=spec_problem,
            has_training_data=trainable,
        )
        if decision.replayed:
            recorded = episodes_of(state).get(alarm)
            return decision, bool(recorded and recorded.retrain_invoked)
        if spec is None and not state.get("exists"):
            return decision, False  # never create a registry row for a model the suite does not know
        changes = record_decision(state, alarm=alarm, signal=signal, since=since, decision=decision, now=now)
        if _conditional_update(ctx, model, state, changes):
            return decision, False
        # lost the race (another delivery, a training): re-read and decide again
    raise ConflictError(f"state of {model} kept changing while handling {alarm}; Lambda retries the event")


def _trainable(ctx: Context, spec: ModelSpec | None, signal: str) -> bool:
    """Whether a retrain could find data (asked only when the signal may retrain; best effort: a
    failed look-up keeps the old behaviour, and train_model then says why it cannot)."""
    from ..domain.alert_policy import RETRAIN_GROUPS

    group = RETRAIN_GROUPS.get(signal)
    if spec is None or group is None or group not in spec.retrain.on_alarms or not ctx.settings.data_bucket:
        return True
    try:
        return training_data_available(ctx, spec)
    except StewardError as exc:
        log.warning("could not tell whether %s has training data: %s", spec.name, exc.message)
        return True


def _conditional_update(
    ctx: Context, model: str, state: Mapping[str, Any], changes: Mapping[str, Any]
) -> bool:
    """Write STATE changes if nobody wrote since ``state`` was read; False when the race was lost."""
    assert ctx.registry is not None
    expected = {"state_version": int(state["state_version"])}
    try:
        ctx.registry.update_model_state(model, changes, expected=expected)
    except ConflictError:
        return False
    return True


def _request_retrain(
    ctx: Context, identity: AlarmIdentity, decision: Decision, since: dt.datetime, data_since: str | None
) -> str:
    """Invoke train_model asynchronously; returns the sentence saying what was done. ``data_since``
    (where the episode's data starts) lets the new version's baseline follow the new regime."""
    model, alarm = str(identity.model), identity.name
    function = ctx.settings.train_function_name
    if ctx.invoker is None or not function:
        return "retrain decided, but not sent: TRAIN_FUNCTION_NAME is not configured for handle_alarm"
    payload = {
        "action": "retrain",
        "model": model,
        "reason": f"alarm {alarm}: {identity.signal} in ALARM since {iso(since)}",
        "trigger": f"alarm:{alarm}",
        "episode": decision.episode_id,
        **({"data_since": data_since} if data_since else {}),
    }
    ctx.invoker.invoke_async(function, payload)
    if ctx.registry is not None:
        for _ in range(MAX_STATE_ATTEMPTS):  # best effort: a lost note only means a harmless re-invoke
            state = ctx.registry.get_model_state(model)
            changes = mark_invoked(state, alarm, decision.episode_id)
            if changes is None:
                break
            if _conditional_update(ctx, model, state, changes):
                break
    waits = (
        f"; it trains once enough labeled rows of the data since {data_since} are in the pool "
        "(retrain.min_new_rows), else it waits for them and says so in the audit trail"
        if data_since
        else ""
    )
    asked = f"train_model was asked to retrain {model} (trigger alarm:{alarm}, episode {decision.episode_id})"
    return asked + waits


def _record_decision(
    ctx: Context, model: str, signal: str, identity: AlarmIdentity, decision: Decision
) -> None:
    """The audit record of a new episode's retrain decision: requested, or held by the cooldown."""
    if decision.retrain:
        ctx.record(
            "retrain.requested",
            model=model,
            reason=f"alarm {identity.name}: {decision.summary}",
            details={
                "trigger": f"alarm:{identity.name}",
                "episode": decision.episode_id,
                "signal": signal,
            },
        )
    elif decision.kind == "cooldown":
        ctx.record(
            "retrain.suppressed",
            model=model,
            reason=decision.summary,
            details={
                "trigger": f"alarm:{identity.name}",
                "episode": decision.episode_id,
                "last_retrain_at": decision.last_retrain_at,
                "next_allowed_at": decision.next_allowed_at,
            },
        )


# long: one alarm told: decide, record, gather the email's facts, send, record, in the order a replay needs
def _alarm(
    ctx: Context, n: AlarmNotification, identity: AlarmIdentity, alarms: AlarmLookup | None
) -> dict[str, Any]:
    model, signal = str(identity.model), str(identity.signal)
    open_episodes = _open_episodes(ctx, model, signal)
    # an alarm mirroring batch episodes is one alarm episode per batch episode, however often the
    # alarm itself flips: its identity is the time the (earliest) batch episode opened
    opened = [t for t in (_episode_time(ep) for ep in open_episodes) if t is not None]
    since = min(opened, default=n.changed_at)
    spec, spec_problem = _spec(ctx, model)
    decision, invoked = _decide(ctx, identity, since, ctx.clock(), spec, spec_problem)
    if decision.replayed and open_episodes and (invoked or not decision.retrain):
        return _already_told(ctx, n, identity, decision.episode_id)
    extra: list[str] = []
    if decision.retrain and not invoked:
        extra.append(_request_retrain(ctx, identity, decision, since, _new_regime_since(ctx, model)))
    if not decision.replayed:
        _record_decision(ctx, model, signal, identity, decision)
    report, report_note = latest_report(ctx, model)
    card_uri, champion = _champion_card(ctx, model)
    facts = AlarmFacts(
        model=model,
        signal=signal,
        alarm=identity.name,
        since=since,
        action=_action_text(decision),
        rules=_rules(n, alarms),
        stage=identity.stage,
        region=n.Region,
        description=_sentence(n),
        alarm_rule=n.AlarmRule if n.is_composite else None,
        report=report,
        report_note=report_note,
        card_uri=card_uri,
        champion_version=champion,
        episode_id=decision.episode_id,
        extra_actions=extra,
        show_features=signal in FEATURE_EVIDENCE,
        episodes=[_episode_facts(ep, spec) for ep in open_episodes],
    )
    subject, body = alarm_email(facts)
    message_id = _publish(ctx, subject, body, model, signal)
    ctx.record(
        "alarm.handled",
        model=model,
        model_version=champion,
        reason=f"{signal} ALARM since {iso(since)}: {decision.summary}",
        outputs=[{"uri": report.json_uri}] if report else [],
        details=_details(
            n,
            identity,
            decision=decision.kind,
            episode=decision.episode_id,
            emailed=message_id is not None,
            message_id=message_id,
            replayed=decision.replayed,
            children=[c.name for c in n.children_in_alarm()],
        ),
    )
    return _summary(
        n,
        identity,
        decision.kind,
        episode=decision.episode_id,
        retrain=decision.retrain,
        emailed=message_id is not None,
        subject=subject,
    )


def _action_text(decision: Decision) -> str:
    text = decision.summary
    return f"{text[0].upper()}{text[1:]}." if text else "Nothing."


def _sentence(n: AlarmNotification) -> str:
    return description_sentence(n.AlarmDescription)


def _publish(ctx: Context, subject: str, body: str, model: str | None, signal: str | None) -> str | None:
    if ctx.notifier is None:
        log.warning("no notifications topic configured: email not sent (%s)", subject)
        return None
    attributes = {k: v for k, v in (("model", model), ("signal", signal)) if v}
    return ctx.notifier.publish(subject, body, attributes)


# --- what crossed which threshold -----------------------------------------------------------------
def _rules(n: AlarmNotification, alarms: AlarmLookup | None) -> list[RuleFacts]:
    if not n.is_composite:
        if n.Trigger is None:
            return [
                RuleFacts(
                    alarm=n.AlarmName, reason=n.NewStateReason, state=n.NewStateValue, since=n.changed_at
                )
            ]
        return [_rule(n.AlarmName, n.Trigger, n.NewStateReason, n.NewStateValue, n.changed_at)]
    children = n.children_in_alarm() or list(n.TriggeringChildren)
    described: dict[str, dict[str, Any]] = {}
    if alarms is not None and children:
        try:
            described = {a["AlarmName"]: a for a in alarms.describe([c.name for c in children])}
        except StewardError as exc:  # no permission or a transient error: the email still goes out
            log.warning("could not describe the child alarms of %s: %s", n.AlarmName, exc.message)
    rules = []
    for child in children:
        since = _parse_child_time(child.State.Timestamp if child.State else None)
        state = child.State.Value if child.State else None
        info = described.get(child.name)
        if info is None:
            rules.append(RuleFacts(alarm=child.name, state=state, since=since))
            continue
        trigger = AlarmTrigger.model_validate(
            {
                **{k: info.get(k) for k in _TRIGGER_FIELDS},
                "Dimensions": [
                    {"name": d["Name"], "value": d["Value"]} for d in info.get("Dimensions") or []
                ],
            }
        )
        updated = info.get("StateUpdatedTimestamp")
        rules.append(
            _rule(
                child.name,
                trigger,
                str(info.get("StateReason") or ""),
                state or info.get("StateValue"),
                since or (updated if isinstance(updated, dt.datetime) else None),
            )
        )
    return rules


_TRIGGER_FIELDS = (
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Unit",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "ComparisonOperator",
    "Threshold",
    "TreatMissingData",
)


def _rule(
    alarm: str, t: AlarmTrigger, reason: str, state: str | None, since: dt.datetime | None
) -> RuleFacts:
    m_of_n = t.m_of_n
    return RuleFacts(
        alarm=alarm,
        signal=_signal_of(alarm),
        metric=t.MetricName,
        namespace=t.Namespace,
        statistic=t.statistic or None,
        period_seconds=t.Period,
        comparison=t.comparison,
        threshold=t.Threshold,
        datapoints_to_alarm=m_of_n[0] if m_of_n else None,
        evaluation_periods=m_of_n[1] if m_of_n else None,
        treat_missing=t.TreatMissingData,
        values=reason_values(reason),
        reason=reason,
        state=state,
        since=since,
    )


def _signal_of(alarm: str) -> str | None:
    probe = AlarmNotification(AlarmName=alarm, NewStateValue="ALARM", StateChangeTime="1970-01-01T00:00:00Z")
    return identify(probe).signal


def _parse_child_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return parse_state_change_time(text)
    except ValueError:
        return None


# --- the evidence: latest batch report, champion card ---------------------------------------------
def latest_report(ctx: Context, model: str) -> tuple[ReportFacts | None, str | None]:
    """The newest batch report of the model; best effort: (None, why) when there is none or unreadable."""
    bucket = artifacts_bucket(ctx)
    if not bucket:
        return None, "the artifacts bucket is not configured for handle_alarm"
    index = BatchIndex(ctx, bucket, model)
    try:
        last = newest(index.sync(write=False, max_reads=MAX_REPORT_READS))
        data = index.read_report(last.batch_id) if last is not None else None
    except StewardError as exc:
        log.warning("could not read the reports of %s: %s", model, exc.message)
        return None, f"could not read the reports ({exc.message})"
    if last is None:
        return None, "no batch of this model has been monitored yet"
    if data is None:
        return None, f"the report of batch {last.batch_id} is missing or unreadable"
    return report_facts(data, bucket, model, last.batch_id), None


def report_facts(report: BatchReport, bucket: str, model: str, batch_id: str) -> ReportFacts:
    """ReportFacts from a batch report (domain.report is pydantic only: no numpy here)."""
    prefix = layout.batch_report_prefix(model, batch_id)
    features = [f for f in report.features if f.kind != "label"]
    features.sort(key=lambda f: (not f.drifted, -(f.score or 0.0)))
    dataset, multivariate, bias = report.dataset_drift, report.multivariate, report.bias
    return ReportFacts(
        batch_id=batch_id,
        created_at=report.created_at,
        rows=report.rows,
        verdict=report.verdict,
        json_uri=layout.s3_uri(bucket, prefix + "report.json"),
        html_uri=layout.s3_uri(bucket, prefix + "report.html"),
        drifted_share=dataset.share,
        share_threshold=dataset.threshold,
        features=[
            FeatureScore(
                name=f.name,
                method=f.method,
                score=f.score,
                threshold=f.threshold,
                severity=f.severity,
                kind=f.kind,
                reason=f.drift_reason,
            )
            for f in features
        ],
        multivariate_auc=multivariate.auc if multivariate is not None else None,
        quality_violations=len(report.quality),
        pii_findings=sum(f.count for f in report.pii.findings),
        selection_rates=bias.selection_rates if bias is not None else {},
        bias_values=bias.values if bias is not None else {},
        bias_bounds=bias.bounds if bias is not None else {},
    )


def _champion_card(ctx: Context, model: str) -> tuple[str | None, int | None]:
    """(S3 URI of the champion's HTML model card, champion version); best effort."""
    if ctx.registry is None:
        return None, None
    try:
        row = ctx.registry.champion(model)
    except (NotFound, StewardError) as exc:
        log.warning("no champion row for %s: %s", model, exc)
        return None, None
    if not row:
        return None, None
    version = int(row["version"]) if row.get("version") is not None else None
    uri = row.get("card_uri")
    if isinstance(uri, str) and uri.endswith("/card.json"):
        uri = uri[: -len("card.json")] + "card.html"
    if not uri and version is not None and (bucket := artifacts_bucket(ctx)):
        uri = layout.s3_uri(bucket, layout.card_prefix(model, version) + "card.html")
    return (str(uri) if uri else None), version


# --- OK -----------------------------------------------------------------------------------------
def _ok(ctx: Context, n: AlarmNotification, identity: AlarmIdentity) -> dict[str, Any]:
    model, signal = str(identity.model), str(identity.signal)
    at = n.changed_at
    episode = None
    changes = None
    still_open = _open_episodes(ctx, model, signal)
    if still_open:  # one signal of the drift family recovered, the other is still open: not yet
        ctx.record(
            "alarm.handled",
            model=model,
            reason=f"{n.AlarmName} OK, but {', '.join(e.signal for e in still_open)} is still open",
            details=_details(n, identity, decision="still_open", emailed=False),
        )
        return _summary(n, identity, "still_open", emailed=False)
    if ctx.registry is not None:
        for _ in range(MAX_STATE_ATTEMPTS):
            state = ctx.registry.get_model_state(model)
            changes, episode = close_episode(state, alarm=identity.name, at=at)
            if changes is None:
                break
            if _conditional_update(ctx, model, state, changes):
                break
    message_id = None
    closed_now = changes is not None if ctx.registry is not None else True
    if mail_for(n.NewStateValue, n.OldStateValue) == "recovery" and closed_now:
        since = parse_time(episode.since) if episode else None
        subject, body = recovery_email(
            model=model,
            signal=signal,
            alarm=identity.name,
            recovered_at=at,
            since=since,
            duration=duration_text(since, at) if since else None,
            reason=n.NewStateReason,
            action=episode.summary if episode else None,
            region=n.Region,
            episode_id=episode.id if episode else None,
            episodes=[_episode_facts(ep, None) for ep in _closed_episodes(ctx, model, signal)],
        )
        message_id = _publish(ctx, subject, body, model, signal)
    ctx.record(
        "alarm.handled",
        model=model,
        reason=f"{signal} OK since {iso(at)}" + (" (recovered)" if message_id else ""),
        details=_details(
            n,
            identity,
            decision="recovered",
            emailed=message_id is not None,
            episode=episode.id if episode else None,
        ),
    )
    return _summary(
        n, identity, "recovered", emailed=message_id is not None, episode=episode.id if episode else None
    )


# --- batch episodes (services.episodes) behind the alarm ------------------------------------------
def _episode_signals(signal: str) -> list[str]:
    if signal == "data_drift":
        return sorted(COMPOSITE_CHILDREN)
    return [signal] if signal in EPISODE_SIGNALS else []


def _book_episodes(ctx: Context, model: str, signal: str) -> list[SignalEpisode]:
    signals = _episode_signals(signal)
    if not signals or ctx.episodes is None:
        return []
    try:
        book = episode_book(ctx, model)
    except StewardError as exc:  # the email still goes out, without the story
        log.warning("could not read the alert episodes of %s: %s", model, exc.message)
        return []
    return [ep for ep in (book.get(s) for s in signals) if ep.episode_id]


def _open_episodes(ctx: Context, model: str, signal: str) -> list[SignalEpisode]:
    return [ep for ep in _book_episodes(ctx, model, signal) if ep.open]


def _closed_episodes(ctx: Context, model: str, signal: str) -> list[SignalEpisode]:
    return [ep for ep in _book_episodes(ctx, model, signal) if not ep.open]


def _family(identity: AlarmIdentity) -> AlarmIdentity:
    """Univariate and multivariate drift are one root cause: their alarms speak as ``data_drift`` (one
    email, one retrain, one recovery for the family, whichever child opened or closed first)."""
    if identity.signal not in COMPOSITE_CHILDREN or identity.model is None:
        return identity
    name = identity.name.removesuffix(str(identity.signal)) + "data_drift"
    return AlarmIdentity(identity.kind, name, identity.stage, identity.model, "data_drift", identity.function)


def _new_regime_since(ctx: Context, model: str) -> str | None:
    """Where the data of the model's open episodes starts (the earliest): a retrain's baseline is
    drawn from the holdout rows since then, so the new champion is compared with what it was fitted on."""
    if ctx.episodes is None:
        return None
    try:
        book = episode_book(ctx, model)
    except StewardError:
        return None
    starts = [ep.data_from for ep in (book.get(s) for s in EPISODE_SIGNALS) if ep.open and ep.data_from]
    return min(starts, default=None)


def _episode_time(ep: SignalEpisode) -> dt.datetime | None:
    return parse_time(ep.opened_at)


def _episode_facts(ep: SignalEpisode, spec: ModelSpec | None) -> EpisodeFacts:
    from ..spec import AlertPolicy

    rule = (spec.alerts if spec is not None else AlertPolicy()).rule(ep.signal)
    return EpisodeFacts(
        signal=ep.signal,
        episode_id=ep.episode_id,
        rule=rule.text(),
        since=ep.since,
        opened_by=ep.opened_by,
        batches_seen=ep.batches_seen,
        breaching_batches=ep.breaching_batches,
        worst_value=ep.worst_value,
        worst_batch=ep.worst_batch,
        threshold=ep.threshold,
        threshold_how=next((o.note for o in reversed(ep.recent) if o.note), None),
        closed_by=ep.closed_by,
        close_reason=ep.close_reason,
        evidence=next((o.evidence for o in reversed(ep.recent) if o.breached and o.evidence), None),
    )


def _stale_mirror(ctx: Context, n: AlarmNotification, identity: AlarmIdentity) -> dict[str, Any] | None:
    """CloudWatch's own evaluation of ``EpisodeOpen`` can disagree with the book for one period (an
    episode that opened and closed within it): the book wins, the alarm is set back, nobody is told."""
    signal = str(identity.signal)
    if (
        n.is_composite
        or signal not in EPISODE_SIGNALS
        or ctx.episodes is None
        or ctx.alarm_states is None
        or n.Trigger is None
        or n.Trigger.MetricName != metric_names.EPISODE_OPEN  # an alarm someone added on another metric
        or not n.NewStateReason.startswith("Threshold Crossed")
        or n.NewStateValue not in ("ALARM", "OK")
    ):
        return None
    is_open = bool(_open_episodes(ctx, str(identity.model), signal))
    wanted = "ALARM" if is_open else "OK"
    if n.NewStateValue == wanted:
        return None
    try:
        ctx.alarm_states.set_state(
            n.AlarmName,
            wanted,
            f"{REASON_PREFIX} {'open' if is_open else 'closed'}: set back after CloudWatch's evaluation of "
            "a period that held both states",
        )
    except StewardError as exc:  # the next batch sets it again
        log.warning("could not set alarm %s back to %s: %s", n.AlarmName, wanted, exc.message)
    ctx.record(
        "alarm.handled",
        model=identity.model,
        reason=f"{signal} {n.NewStateValue} by CloudWatch's evaluation, but the episode is "
        f"{'open' if is_open else 'closed'}: alarm set back to {wanted}, no email",
        details=_details(n, identity, decision="mirror_corrected", emailed=False),
    )
    return _summary(n, identity, "mirror_corrected", emailed=False)


def _already_told(
    ctx: Context, n: AlarmNotification, identity: AlarmIdentity, episode: str
) -> dict[str, Any]:
    ctx.record(
        "alarm.handled",
        model=identity.model,
        reason=f"{identity.signal} ALARM again within episode {episode}: already emailed",
        details=_details(n, identity, decision="already_told", episode=episode, emailed=False),
    )
    return _summary(n, identity, "already_told", episode=episode, emailed=False)


# --- suite health -------------------------------------------------------------------------------
def _suite_alarm(ctx: Context, n: AlarmNotification, identity: AlarmIdentity) -> dict[str, Any]:
    """A short operational note (function errors/throttles, dead-letter queue): never a retrain."""
    message_id = None
    if mail_for(n.NewStateValue, n.OldStateValue) != "none":
        subject, body = ops_email(
            alarm=n.AlarmName,
            signal=identity.signal,
            function=identity.function,
            state=n.NewStateValue,
            changed_at=n.changed_at,
            reason=n.NewStateReason,
            stage=identity.stage,
            region=n.Region,
        )
        message_id = _publish(ctx, subject, body, None, identity.signal)
    ctx.record(
        "alarm.handled",
        reason=f"suite health: {n.AlarmName} {n.NewStateValue}",
        details=_details(
            n,
            identity,
            decision="ops_note" if message_id else "none",
            function_name=identity.function,
            emailed=message_id is not None,
        ),
    )
    return _summary(n, identity, "ops_note" if message_id else "none", emailed=message_id is not None)


def describe_decision(result: Mapping[str, Any]) -> str:
    """One line for logs."""
    return json.dumps({k: result.get(k) for k in ("alarm", "state", "decision", "emailed")}, default=str)
