"""Plain-text emails a person can act on: what happened, how sure, where to look, what the suite did.

Three kinds, all composed from facts the caller gathered (pure: no I/O):

* :func:`alarm_email` - a model alarm went into ALARM: which model, what crossed which threshold
  (metric, statistic, period, M of N, the values CloudWatch saw), since when, the top drifted
  features of the latest batch report, links to that report and to the champion's model card, what
  the suite did (retrain started / suppressed / none) and what to do;
* :func:`recovery_email` - the same alarm is OK again: one short note;
* :func:`ops_email` - a suite health alarm (function errors or throttles, dead-letter queue depth).

Emails carry names, numbers and links only: never a data value from a batch (no PII can leak).
Subjects stay under SNS's 100 characters.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SUBJECT_PREFIX = "[model-steward]"
WIDTH = 100  # prose is wrapped; tables, rules and links never are
MAX_SUBJECT = 100
TOP_FEATURES = 5

#: signal -> (what the signal measures, what to do first)
SIGNAL_GUIDE: dict[str, tuple[str, str]] = {
    "drift": (
        "the importance-weighted share of input features whose distribution moved away from the "
        "model's baseline (effect size over its threshold AND significant after Benjamini-Hochberg)",
        "Open the batch report: its features table shows each drifted column with reference and current "
        "histograms. Rule out an upstream change first (new source, unit or encoding change, a broken "
        "join); if the population really changed, the model needs retraining on recent data.",
    ),
    "multivariate_drift": (
        "how well a classifier tells the reference sample from current rows apart (AUC; 0.5 = "
        "indistinguishable): drift in the joint distribution that single columns can miss",
        "Compare the batch report's features table with the AUC: drift in combinations of columns "
        "often means a changed segment mix. Check upstream changes, then retrain if it is real.",
    ),
    "data_drift": (
        "data drift: the univariate or the multivariate drift episode of the model is open (one family, "
        "so one root cause makes one email)",
        "Open the batch report: its features table shows each drifted column with reference and current "
        "histograms. Rule out an upstream change first (new source, unit or encoding change, a broken "
        "join); if the population really changed, the model needs retraining on recent data.",
    ),
    "quality": (
        "data contract and quality violations in a batch (missing values, out-of-range values, unseen "
        "categories, duplicate ids, type problems)",
        "The batch report's quality section names each column and check. Fix the producer of the data; "
        "retraining on broken data makes things worse.",
    ),
    "pii": (
        "personal data (emails, phone numbers, card numbers, national ids) found in a batch",
        "Stop the producer from sending it. Refused batches are kept under quarantine/<model>/ with a "
        "reason; reports list columns, kinds and counts, never values.",
    ),
    "realized_drop": (
        "the primary metric measured on labelled rows, below its validation score",
        "Check the labels (late or partial labels bias the estimate), then the drift reports around the "
        "same time; a real drop calls for retraining.",
    ),
    "estimated_drop": (
        "the label-free estimate of the primary metric (from calibrated probabilities), below its "
        "validation score",
        "The estimate moves when predictions become less confident: check the drift reports, and "
        "confirm with realized quality when labels arrive.",
    ),
    "latency": (
        "scoring latency per row (p95, milliseconds)",
        "Look at score_batch's memory and batch sizes, and at the model's size; retraining does not help.",
    ),
    "scoring_errors": (
        "rows the model failed to score",
        "Read score_batch's log for the failing rows' error; usually a contract change upstream or a "
        "broken artifact.",
    ),
    "bias": (
        "the batch's predictions break a fairness bound the spec commits to (selection rate per group: "
        "demographic parity difference or disparate impact ratio)",
        "Open the batch report's bias section: selection rate per group against the bounds. Check "
        "whether the group mix or the inputs of one group changed upstream; the model card shows "
        "the bounds each version held at training.",
    ),
    "realized_bias": (
        "the labelled rows of a batch break a fairness bound the spec commits to (realized group "
        "metrics: selection rate, true-positive rate and primary metric per group)",
        "Open the label evaluation (quality/<model>/<batch>/quality.json, section fairness): group "
        "metrics against the bounds. Check whether one group's inputs or mix changed, and whether its "
        "labels are complete; the model card shows the bounds each version held at training.",
    ),
    "attribution_drift": (
        "the order of the features the model relies on (global attributions of its outputs on the "
        "batch) moved away from the version's baseline: nDCG below the threshold",
        "Open the batch report's attribution section: each feature's share against the baseline and "
        "its rank. A feature that climbs can be a broken or leaking input upstream or a new "
        "population; check the drift of that feature before retraining.",
    ),
    "freshness": (
        "accepted batches per hour (a stalled feed: no batch accepted in the whole evaluation range)",
        "Check the pipeline that uploads inference/<model>/ batches, and quarantine/<model>/ for batches "
        "the suite refused (each has a reason.txt).",
    ),
}


@dataclass(frozen=True)
class RuleFacts:
    """One metric alarm's rule and what CloudWatch saw (a composite has one per child in ALARM)."""

    alarm: str
    signal: str | None = None
    metric: str | None = None
    namespace: str | None = None
    statistic: str | None = None
    period_seconds: int | None = None
    comparison: str | None = None
    threshold: float | None = None
    datapoints_to_alarm: int | None = None
    evaluation_periods: int | None = None
    treat_missing: str | None = None
    values: Sequence[float] = ()
    reason: str = ""
    state: str | None = None
    since: dt.datetime | None = None


@dataclass(frozen=True)
class FeatureScore:
    name: str
    method: str
    score: float | None
    threshold: float | None
    severity: str
    kind: str = "numeric"
    reason: str | None = None  # why it drifts: "above the threshold 0.1", "persistent: 6 of the last 6 ..."


@dataclass(frozen=True)
class ReportFacts:
    """The latest batch report of the model (the evidence behind a drift or quality alarm)."""

    batch_id: str
    created_at: str | None
    rows: int | None
    verdict: str | None
    json_uri: str
    html_uri: str
    drifted_share: float | None = None
    share_threshold: float | None = None
    features: Sequence[FeatureScore] = ()
    multivariate_auc: float | None = None
    quality_violations: int = 0
    pii_findings: int = 0
    #: selection rate per group of each sensitive attribute (group-level figures only), when judged
    selection_rates: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    bias_values: Mapping[str, float | None] = field(default_factory=dict)
    bias_bounds: Mapping[str, float] = field(default_factory=dict)


NOT_JUDGED = "not judged (no group large enough, or too many distinct values: see the batch report)"


@dataclass(frozen=True)
class EpisodeFacts:
    """An alert episode as the suite decided it from the batches (domain.episodes.SignalEpisode)."""

    signal: str
    episode_id: str | None
    rule: str  # "2 of the last 3 batches"
    since: str | None = None  # event time of the first breaching batch
    opened_by: str | None = None
    batches_seen: int = 0
    breaching_batches: int = 0
    worst_value: float | None = None
    worst_batch: str | None = None
    threshold: float | None = None
    threshold_how: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    evidence: str | None = None  # the latest breaching batch's group-level figures


def _episode_lines(ep: EpisodeFacts) -> list[str]:
    lines = [
        f"  {ep.signal}: opened when {ep.rule} breached (batch {ep.opened_by or '?'}); "
        f"first breaching batch's data from {ep.since or 'unknown time'}"
    ]
    lines.append(f"  batches seen in the episode: {ep.batches_seen}, breaching: {ep.breaching_batches}")
    if ep.worst_value is not None:
        limit = f" (threshold {number(ep.threshold)})" if ep.threshold is not None else ""
        lines.append(f"  worst value: {number(ep.worst_value)} in batch {ep.worst_batch}{limit}")
    if ep.threshold_how:
        lines += wrap(f"threshold: {ep.threshold_how}", "  ")
    if ep.evidence:
        lines += wrap(f"latest breaching batch: {ep.evidence}", "  ")
    if ep.closed_by:
        lines.append(f"  closed by batch {ep.closed_by}: {ep.close_reason or 'clean again'}")
    return lines


@dataclass(frozen=True)
class AlarmFacts:
    model: str
    signal: str
    alarm: str
    since: dt.datetime
    action: str  # what the suite did, one sentence (the policy decision's summary)
    rules: Sequence[RuleFacts] = ()
    stage: str | None = None
    region: str | None = None
    description: str = ""
    alarm_rule: str | None = None
    report: ReportFacts | None = None
    report_note: str | None = None  # why there is no report
    card_uri: str | None = None
    champion_version: int | None = None
    episode_id: str | None = None
    extra_actions: Sequence[str] = field(default_factory=tuple)
    show_features: bool = True  # the drifted-features table is evidence for drift and performance only
    episodes: Sequence[EpisodeFacts] = ()  # the batch episodes behind the alarm (none: a manual test)


def wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def subject(text: str) -> str:
    full = f"{SUBJECT_PREFIX} {text}"
    return full if len(full) <= MAX_SUBJECT else full[: MAX_SUBJECT - 3] + "..."


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "unknown time"
    value = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: float | None, digits: int = 3) -> str:
    """Short human form: 0.3, 12, 0.0421, 1.2e+05."""
    if value is None:
        return "n/a"
    v = float(value)
    if v.is_integer() and abs(v) < 1e12:
        return str(int(v))
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.{digits}g}"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


def period_words(seconds: int | None) -> str:
    if not seconds:
        return "period"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours}-hour period" if hours != 1 else "1-hour period"
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute period"
    return f"{seconds}-second period"


_MISSING_WORDS = {
    "notBreaching": "periods without data count as fine",
    "breaching": "periods without data count as breaching",
    "ignore": "periods without data are skipped",
    "missing": "periods without data are skipped",
}


def rule_sentence(rule: RuleFacts) -> str:
    """'DriftedFeatureShare (Maximum per 5-minute period) >= 0.3 in at least 2 of the last 3 periods'."""
    metric = rule.metric or "the metric"
    statistic = f"{rule.statistic} per {period_words(rule.period_seconds)}" if rule.statistic else ""
    head = f"{metric} ({statistic})" if statistic else metric
    text = f"{head} {rule.comparison or '?'} {number(rule.threshold)}"
    if rule.evaluation_periods:
        m = rule.datapoints_to_alarm or rule.evaluation_periods
        n = rule.evaluation_periods
        text += (
            " in the latest period"
            if n == 1
            else f" in at least {m} of the last {n} periods"
            if m != n
            else f" in each of the last {n} periods"
        )
    return text


def _rule_lines(rule: RuleFacts, indent: str = "  ") -> list[str]:
    lines = [f"{indent}{rule.alarm}" + (f" ({rule.state} since {when(rule.since)})" if rule.state else "")]
    if rule.metric:
        lines.append(f"{indent}  rule: {rule_sentence(rule)}")
    if rule.values:
        shown = ", ".join(number(v) for v in rule.values[:6])
        lines.append(f"{indent}  values CloudWatch saw (newest first): {shown}")
    if rule.treat_missing in _MISSING_WORDS:
        lines.append(f"{indent}  missing data: {_MISSING_WORDS[rule.treat_missing]}")
    if rule.reason and not rule.values:
        lines.append(f"{indent}  reason: {rule.reason[:400]}")
    return lines


def _feature_lines(features: Sequence[FeatureScore]) -> list[str]:
    shown = [f for f in features if f.score is not None][:TOP_FEATURES]
    if not shown:
        return ["  (no feature had enough rows to score)"]
    width = max(len(f.name) for f in shown)
    lines = []
    for f in shown:
        limit = f" (threshold {number(f.threshold)})" if f.threshold is not None else ""
        lines.append(f"  {f.name.ljust(width)}  {f.method} {number(f.score)}{limit}  {f.severity}")
        if f.reason and f.severity == "drift":
            lines.append(f"  {''.ljust(width)}  why: {f.reason}")
    return lines


# long: one email's text, line by line as its reader sees it
def alarm_email(facts: AlarmFacts) -> tuple[str, str]:
    """(subject, body) of the email for a model alarm in ALARM."""
    title = subject(f"{facts.model}: {facts.signal} ALARM")
    meaning, todo = SIGNAL_GUIDE.get(facts.signal, (facts.description or f"the {facts.signal} signal", ""))
    where = f" (stage {facts.stage})" if facts.stage else ""
    lines = [
        f"Model {facts.model}{where}: {facts.signal} is in ALARM since {when(facts.since)}.",
        *wrap(f"Signal: {meaning}."),
    ]
    if facts.description:
        lines += wrap(f"Alarm: {facts.description}")
    if facts.episodes:
        lines += ["", "THE EPISODE (decided from the batches, in batch order)"]
        for ep in facts.episodes:
            lines += _episode_lines(ep)
    lines += ["", "WHAT CROSSED WHICH THRESHOLD"]
    if facts.episodes:
        lines.append("  the alarm mirrors the episode: it is in ALARM while the episode is open")
    elif facts.rules:
        if facts.alarm_rule is not None:
            lines.append(f"  {facts.alarm} is a composite alarm; its child alarms in ALARM:")
        for rule in facts.rules:
            lines += _rule_lines(rule)
    else:
        lines.append(f"  {facts.alarm}: no rule details were available")
    if facts.report is not None:
        r = facts.report
        lines += [
            "",
            f"LATEST BATCH REPORT ({r.batch_id}, {r.rows if r.rows is not None else '?'} rows, "
            f"created {r.created_at or 'unknown'})",
        ]
        summary = f"  verdict: {r.verdict or 'unknown'}"
        if r.drifted_share is not None:
            summary += f"; drifted share {number(r.drifted_share)}"
            if r.share_threshold is not None:
                summary += f" (dataset drift at {number(r.share_threshold)})"
        if r.multivariate_auc is not None:
            summary += f"; multivariate AUC {number(r.multivariate_auc)}"
        summary += f"; quality violations {r.quality_violations}; PII findings {r.pii_findings}"
        lines.append(summary)
        for attribute, rates in r.selection_rates.items():
            shown = ", ".join(f"{g} {number(v) if v is not None else 'n/a'}" for g, v in rates.items())
            lines.append(f"  selection rate by {attribute}: {shown or NOT_JUDGED}")
        for name, value in r.bias_values.items():
            if value is not None and name in r.bias_bounds:
                lines.append(
                    f"  {name.replace('_', ' ')} {number(value)} (bound {number(r.bias_bounds[name])})"
                )
        if facts.show_features:
            lines += ["", "TOP DRIFTED FEATURES (effect size beyond sampling noise)"]
            lines += _feature_lines(r.features)
    elif facts.report_note:
        lines += ["", f"LATEST BATCH REPORT: {facts.report_note}"]
    lines += ["", "WHAT THE SUITE DID", f"  {facts.action}"]
    lines += [f"  {a}" for a in facts.extra_actions]
    links = []
    if facts.report is not None:
        links += [
            f"  batch report (JSON): {facts.report.json_uri}",
            f"  batch report (HTML): {facts.report.html_uri}",
        ]
    if facts.card_uri:
        version = f" v{facts.champion_version}" if facts.champion_version is not None else ""
        links.append(f"  champion model card{version}: {facts.card_uri}")
    if links:
        lines += ["", "LINKS", *links]
    if todo:
        lines += ["", "WHAT TO DO", *wrap(todo, "  ")]
    lines += ["", "--", _footer(facts.alarm, facts.episode_id, facts.region)]
    return title, "\n".join(lines) + "\n"


def recovery_email(
    *,
    model: str,
    signal: str,
    alarm: str,
    recovered_at: dt.datetime,
    since: dt.datetime | None,
    duration: str | None,
    reason: str = "",
    action: str | None = None,
    region: str | None = None,
    episode_id: str | None = None,
    episodes: Sequence[EpisodeFacts] = (),
) -> tuple[str, str]:
    """(subject, body) of the short note when a model alarm is OK again."""
    title = subject(f"{model}: {signal} OK (recovered)")
    lasted = f", after {duration} in ALARM (since {when(since)})" if duration and since else ""
    lines = [f"Model {model}: {signal} is OK again since {when(recovered_at)}{lasted}."]
    if episodes:
        lines += ["", "THE EPISODE"]
        for ep in episodes:
            lines += _episode_lines(ep)
        lines.append("")
    elif reason:
        lines.append(f"CloudWatch: {reason[:400]}")
    if action:
        lines.append(f"During the alarm the suite decided: {action}.")
    lines += ["No action needed.", "", "--", _footer(alarm, episode_id, region)]
    return title, "\n".join(lines) + "\n"


_OPS_WORDS = {
    "function_errors": ("errors", "invocations of {function} failed"),
    "function_throttles": ("throttles", "invocations of {function} were throttled"),
    "dlq_depth": ("dead-letter queue", "events failed every retry and wait in the dead-letter queue"),
}
_OPS_TODO = {
    "function_errors": (
        "Read the function's log (CloudWatch Logs /aws/lambda/<stack>-{function}; on the local cloud "
        ".steward/local/logs/{function}.log). Asynchronous events are retried twice, then kept in the "
        "dead-letter queue: fix the cause, then run `steward replay` to re-run them."
    ),
    "function_throttles": (
        "{function} hit its reserved concurrency or the account's Lambda quota. Throttled asynchronous "
        "events are retried by Lambda for up to 6 hours; raise the quota or the reservation if it persists."
    ),
    "dlq_depth": (
        "Each message holds the original event and the error. Fix the cause (see the failing function's "
        "log), then run `steward replay --stack <stack>`: it re-invokes each function with its original "
        "event and deletes the messages that succeed. Messages expire after 14 days."
    ),
}


def ops_email(
    *,
    alarm: str,
    signal: str | None,
    function: str | None,
    state: str,
    changed_at: dt.datetime,
    reason: str = "",
    stage: str | None = None,
    region: str | None = None,
) -> tuple[str, str]:
    """(subject, body) of a short operational note for a suite health alarm (never a retrain)."""
    fn = function or "a function"
    word, meaning = _OPS_WORDS.get(signal or "", (signal or "health", "a suite health alarm changed state"))
    target = f"{function} {word}" if function else word
    recovered = state == "OK"
    title = subject(f"ops: {target} {'OK (recovered)' if recovered else state}")
    where = f" (stage {stage})" if stage else ""
    if recovered:
        lines = [f"Model Steward{where}: {alarm} is OK again since {when(changed_at)}. No action needed."]
    else:
        lines = [
            f"Model Steward{where}: {meaning.format(function=fn)} - {alarm} is {state} "
            f"since {when(changed_at)}.",
            "This is about the suite itself, not about a model: nothing was retrained.",
        ]
        if reason:
            lines += ["", f"CloudWatch: {reason[:400]}"]
        todo = _OPS_TODO.get(signal or "")
        if todo:
            lines += ["", "WHAT TO DO", *wrap(todo.format(function=fn), "  ")]
    lines += ["", "--", _footer(alarm, None, region)]
    return title, "\n".join(lines) + "\n"


def _footer(alarm: str, episode_id: str | None, region: str | None) -> str:
    bits = [f"Model Steward - alarm {alarm}"]
    if episode_id:
        bits.append(f"episode {episode_id}")
    if region:
        bits.append(region)
    return " | ".join(bits)


@dataclass(frozen=True)
class WindowFacts:
    """A window check worth telling people about: drift of the merged window, or a volume finding."""

    model: str
    window_kind: str
    window_start: dt.datetime
    window_end: dt.datetime
    verdict: str
    batches: int
    rows: int
    json_uri: str
    html_uri: str
    drifted_share: float | None = None
    share_threshold: float | None = None
    features: Sequence[FeatureScore] = ()
    findings: Sequence[str] = ()
    drift_news: bool = True  # False: the drift was already reported; only the findings are news


def window_email(facts: WindowFacts) -> tuple[str, str]:
    """(subject, body) when a window's merged batches drift, or its volume dropped."""
    label = facts.window_start.strftime("%Y-%m-%d %H:00" if facts.window_kind == "hour" else "%Y-%m-%d")
    drift = facts.verdict == "drift" and facts.drift_news
    what = "window drift" if drift else "window findings"
    title = subject(f"{facts.model}: {what} ({facts.window_kind} {label})")
    lines = [
        f"Model {facts.model}: the {facts.window_kind} {when(facts.window_start)} - {when(facts.window_end)} "
        f"({facts.batches} batches, {facts.rows} rows merged) has verdict {facts.verdict}.",
    ]
    if drift:
        share = number(facts.drifted_share)
        at = facts.share_threshold
        limit = "" if at is None else f" (dataset drift at {number(at)})"
        lines += [
            f"Drifted share of the merged window: {share}{limit}.",
            *wrap(
                "No single batch alarmed, but together the window's batches have the rows to show a slow "
                "drift (each small batch alone is too noisy to test)."
            ),
            "",
            "TOP DRIFTED FEATURES (merged window)",
            *_feature_lines(facts.features),
        ]
    if facts.findings:
        lines += ["", "FINDINGS", *[f"  {f}" for f in facts.findings]]
    lines += [
        "",
        "WHAT THE SUITE DID",
        "  Wrote the window report; no retrain (windows inform, alarms act). To retrain now: "
        f"`steward models retrain {facts.model} --reason ...`.",
        "",
        "LINKS",
        f"  window report (JSON): {facts.json_uri}",
        f"  window report (HTML): {facts.html_uri}",
        "",
        "--",
        f"Model Steward - check_window | {facts.model} | {facts.window_kind} {label}",
    ]
    return title, "\n".join(lines) + "\n"
