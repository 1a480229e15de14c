"""CloudWatch alarm evaluation, as AWS documents it, as pure functions (moto never evaluates alarms).

Metric alarms
-------------
Periods are aligned to multiples of ``Period`` seconds since the epoch; the newest period is the
one that contains ``now`` (AWS evaluates a period while its data arrives, which is why an alarm
fires minutes, not a period, after a breach). Each period's datapoint is the alarm's statistic
over the samples whose timestamp falls in it (Average, Sum, Minimum, Maximum, SampleCount, or an
extended ``pNN`` / ``pNN.N`` percentile). A datapoint breaches when ``value <op> Threshold``.

The state follows "How alarm state is evaluated when data is missing" in the CloudWatch user
guide (tables reproduced in tests/unit/test_alarm_evaluation.py):

* CloudWatch retrieves an *evaluation range* longer than ``EvaluationPeriods`` (N); here N + 2
  periods, the size of the guide's worked examples.
* If at least N datapoints exist in the range, the N most recent existing datapoints are
  evaluated and TreatMissingData does not matter: ALARM if at least ``DatapointsToAlarm`` (M) of
  them breach, else OK.
* If none exist: ``missing`` -> INSUFFICIENT_DATA, ``ignore`` -> keep the current state,
  ``breaching`` -> ALARM, ``notBreaching`` -> OK.
* If some exist (k < N), every existing datapoint is used and N - k missing ones are filled in.
  ``breaching`` / ``notBreaching`` fill them as breaching / not breaching and apply M of N. For
  ``missing`` and ``ignore`` (the guide's tables): M breaching datapoints still mean ALARM; any
  non-breaching datapoint means OK; otherwise (only a few breaching datapoints) ``ignore`` keeps
  the current state and ``missing`` goes to INSUFFICIENT_DATA while those datapoints are recent
  (within the last N periods) and to ALARM once the metric has stopped reporting after them
  (the guide's "X - - - -" row: the oldest evaluated datapoint breaches, none is non-breaching).

Percentile alarms with ``EvaluateLowSampleCountPercentile: ignore`` keep their state while a
period holds fewer samples than the guide's minimum (10 / (1 - p) for p >= 0.5, else 10 / p).

Composite alarms
----------------
:func:`parse_alarm_rule` reads an AlarmRule (``ALARM("name")``, ``OK(...)``,
``INSUFFICIENT_DATA(...)``, ``AND``, ``OR``, ``NOT``, parentheses, ``TRUE``, ``FALSE``; names
or ARNs, single or double quoted). A composite alarm is ALARM when its rule is true, else OK;
INSUFFICIENT_DATA while a referenced alarm does not exist.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from modelsteward.errors import ConfigError

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
OK: AlarmState = "OK"
ALARM: AlarmState = "ALARM"
INSUFFICIENT_DATA: AlarmState = "INSUFFICIENT_DATA"
STATES: tuple[AlarmState, ...] = (OK, ALARM, INSUFFICIENT_DATA)

TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
EXTRA_PERIODS_IN_RANGE = 2
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
_SIMPLE_STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC datetime (moto stores naive UTC datetimes)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# --- samples and statistics ----------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One stored metric value, or a pre-aggregated statistic set (put_metric_data StatisticValues)."""

    timestamp: dt.datetime
    value: float | None = None
    sum: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    count: float | None = None

    @property
    def is_statistic_set(self) -> bool:
        return self.value is None


def percentile_of(statistic: str) -> float | None:
    """0..1 for ``pNN`` statistics, None for the simple ones; ConfigError for anything else."""
    if statistic in _SIMPLE_STATISTICS:
        return None
    match = _PERCENTILE.match(statistic)
    if not match:
        raise ConfigError(f"unsupported alarm statistic {statistic!r}")
    return float(match.group(1)) / 100.0


def aggregate(samples: Sequence[Sample], statistic: str) -> float | None:
    """The statistic over one period's samples; None when the period holds no data.

    Percentiles use the nearest-rank method over raw values (statistic sets carry no
    distribution, so they are left out of percentiles, as CloudWatch does for sets without values).
    """
    if not samples:
        return None
    p = percentile_of(statistic)
    if p is not None:
        values = sorted(s.value for s in samples if s.value is not None)
        if not values:
            return None
        rank = max(1, math.ceil(p * len(values)))
        return values[min(rank, len(values)) - 1]
    total = sum(s.value if s.value is not None else (s.sum or 0.0) for s in samples)
    count = sum(1.0 if s.value is not None else (s.count or 0.0) for s in samples)
    if statistic == "Sum":
        return total
    if statistic == "SampleCount":
        return count
    if statistic == "Average":
        return total / count if count else None
    lows = [s.value if s.value is not None else s.minimum for s in samples]
    highs = [s.value if s.value is not None else s.maximum for s in samples]
    if statistic == "Minimum":
        return min(v for v in lows if v is not None)
    return max(v for v in highs if v is not None)


def low_sample_count(samples: Sequence[Sample], percentile: float) -> bool:
    """True when a period has too few samples for a trustworthy percentile (the guide's rule:
    fewer than 10 / (1 - p) samples for 0.5 <= p < 1, fewer than 10 / p for 0 < p < 0.5)."""
    if percentile <= 0 or percentile >= 1:
        return False
    needed = 10.0 / (1.0 - percentile) if percentile >= 0.5 else 10.0 / percentile
    return sum(1 for s in samples if s.value is not None) < needed


# --- metric alarms -------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricAlarmDefinition:
    """The evaluation settings of one metric alarm (names follow PutMetricAlarm)."""

    name: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str = "Average"
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    evaluate_low_sample_count_percentile: str | None = None

    def __post_init__(self) -> None:
        if self.comparison_operator not in _COMPARISONS:
            raise ConfigError(f"alarm {self.name}: unsupported ComparisonOperator {self.comparison_operator}")
        if self.treat_missing_data not in TREAT_MISSING:
            raise ConfigError(f"alarm {self.name}: unsupported TreatMissingData {self.treat_missing_data}")
        if self.period <= 0 or self.evaluation_periods <= 0:
            raise ConfigError(f"alarm {self.name}: Period and EvaluationPeriods must be positive")
        if not 1 <= self.m <= self.evaluation_periods:
            raise ConfigError(f"alarm {self.name}: DatapointsToAlarm must be within 1..EvaluationPeriods")
        percentile_of(self.statistic)

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def range_periods(self) -> int:
        return self.evaluation_periods + EXTRA_PERIODS_IN_RANGE

    def breaches(self, value: float) -> bool:
        return _COMPARISONS[self.comparison_operator][0](value, self.threshold)

    def comparison_words(self) -> str:
        return _COMPARISONS[self.comparison_operator][1]


@dataclass(frozen=True)
class Datapoint:
    """One period of the evaluation range: its start and its value (None = missing)."""

    start: dt.datetime
    value: float | None
    low_sample: bool = False


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation decided, and the evidence a notification reports."""

    state: AlarmState
    reason: str
    evaluated: tuple[Datapoint, ...] = ()
    breaching: int = 0
    filled: int = 0
    retained: bool = False

    def reason_data(self, definition: MetricAlarmDefinition, now: dt.datetime) -> dict[str, object]:
        """The ``StateReasonData`` JSON CloudWatch attaches to a state change."""
        real = [d for d in self.evaluated if d.value is not None]
        return {
            "version": "1.0",
            "queryDate": format_timestamp(now),
            "startDate": format_timestamp(real[0].start) if real else None,
            "statistic": definition.statistic,
            "period": definition.period,
            "recentDatapoints": [d.value for d in real],
            "threshold": definition.threshold,
            "evaluatedDatapoints": [
                {"timestamp": format_timestamp(d.start), "value": d.value} for d in reversed(real)
            ],
        }


def period_start(moment: dt.datetime, period: int) -> dt.datetime:
    seconds = int((as_utc(moment) - _EPOCH).total_seconds())
    return _EPOCH + dt.timedelta(seconds=seconds - seconds % period)


def evaluation_range(
    definition: MetricAlarmDefinition, samples: Iterable[Sample], now: dt.datetime
) -> list[Datapoint]:
    """The range's datapoints, oldest first; the newest period is the one containing ``now``."""
    newest = period_start(now, definition.period)
    step = dt.timedelta(seconds=definition.period)
    starts = [newest - step * i for i in range(definition.range_periods - 1, -1, -1)]
    buckets: dict[dt.datetime, list[Sample]] = {start: [] for start in starts}
    end = newest + step
    for sample in samples:
        moment = as_utc(sample.timestamp)
        if starts[0] <= moment < end:
            buckets[period_start(moment, definition.period)].append(sample)
    percentile = percentile_of(definition.statistic)
    points = []
    for start in starts:
        bucket = buckets[start]
        low = percentile is not None and bool(bucket) and low_sample_count(bucket, percentile)
        points.append(Datapoint(start, aggregate(bucket, definition.statistic), low))
    return points


def evaluate_metric_alarm(
    definition: MetricAlarmDefinition, datapoints: Sequence[Datapoint], current: AlarmState
) -> Evaluation:
    """Decide the alarm state from the evaluation range (oldest first) and the current state."""
    n, m = definition.evaluation_periods, definition.m
    treat = definition.treat_missing_data
    if definition.evaluate_low_sample_count_percentile == "ignore" and any(
        d.low_sample for d in datapoints[-n:] if d.value is not None
    ):
        return Evaluation(current, "Low sample count for a percentile: state kept", retained=True)
    existing = [d for d in datapoints if d.value is not None]
    k = len(existing)
    if k == 0:
        if treat == "missing":
            return Evaluation(INSUFFICIENT_DATA, _no_data_reason(definition))
        if treat == "ignore":
            return Evaluation(current, "No datapoints; missing data ignored: state kept", retained=True)
        state = ALARM if treat == "breaching" else OK
        return Evaluation(
            state,
            _threshold_reason(definition, state, (), n if state == ALARM else 0, n),
            filled=n,
            breaching=n if state == ALARM else 0,
        )
    if k >= n:
        evaluated = existing[-n:]
        breaching = sum(definition.breaches(d.value) for d in evaluated if d.value is not None)
        state = ALARM if breaching >= m else OK
        return _decided(definition, state, evaluated, breaching, 0)
    filled = n - k
    breaching = sum(definition.breaches(d.value) for d in existing if d.value is not None)
    if treat in ("breaching", "notBreaching"):
        total = breaching + (filled if treat == "breaching" else 0)
        return _decided(definition, ALARM if total >= m else OK, existing, total, filled)
    if breaching >= m:
        return _decided(definition, ALARM, existing, breaching, filled)
    if breaching < k:  # at least one real datapoint is within the threshold
        return _decided(definition, OK, existing, breaching, filled)
    if treat == "ignore":
        return Evaluation(
            current,
            "Too few datapoints; missing data ignored: state kept",
            tuple(existing),
            breaching,
            filled,
            retained=True,
        )
    recent = {d.start for d in datapoints[-n:]}
    if any(d.start in recent for d in existing):
        return Evaluation(
            INSUFFICIENT_DATA, _no_data_reason(definition, partial=True), tuple(existing), breaching, filled
        )
    return _decided(definition, ALARM, existing, breaching, filled)


def _decided(
    definition: MetricAlarmDefinition,
    state: AlarmState,
    evaluated: Sequence[Datapoint],
    breaching: int,
    filled: int,
) -> Evaluation:
    reason = _threshold_reason(definition, state, evaluated, breaching, definition.evaluation_periods)
    return Evaluation(state, reason, tuple(evaluated), breaching, filled)


def _no_data_reason(definition: MetricAlarmDefinition, partial: bool = False) -> str:
    n = definition.evaluation_periods
    if partial:
        return (
            f"Insufficient Data: fewer than {n} datapoints and too few breaching ones to decide; "
            "missing datapoints were treated as [Missing]."
        )
    return (
        f"Insufficient Data: no datapoints in the last {definition.range_periods} periods, "
        "treated as [Missing]."
    )


def _threshold_reason(
    definition: MetricAlarmDefinition,
    state: AlarmState,
    evaluated: Sequence[Datapoint],
    breaching: int,
    n: int,
) -> str:
    """CloudWatch's wording, e.g. 'Threshold Crossed: 1 out of the last 1 datapoints [5.0 (...)] ...'."""
    shown = ", ".join(
        f"{d.value!r} ({d.start.strftime('%d/%m/%y %H:%M:%S')})"
        for d in reversed(evaluated)
        if d.value is not None
    )
    words = definition.comparison_words()
    if state == ALARM:
        verb = "was" if breaching == 1 else "were"
        return (
            f"Threshold Crossed: {breaching} out of the last {n} datapoints [{shown}] {verb} {words} "
            f"the threshold ({definition.threshold!r}) (minimum {definition.m} "
            f"datapoint{'s' if definition.m > 1 else ''} for OK -> ALARM transition)."
        )
    within = n - breaching
    verb = "was" if within == 1 else "were"
    return (
        f"Threshold Crossed: {within} out of the last {n} datapoints [{shown}] {verb} not {words} "
        f"the threshold ({definition.threshold!r}) (minimum {max(1, n - definition.m + 1)} "
        f"datapoint{'s' if n - definition.m + 1 > 1 else ''} for ALARM -> OK transition)."
    )


def format_timestamp(moment: dt.datetime) -> str:
    """CloudWatch's notification time format: ``2021-09-10T19:56:47.588+0000``."""
    value = as_utc(moment)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


# --- composite alarms ----------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:(?P<lparen>\()|(?P<rparen>\))|(?P<quoted>"[^"]*"|'[^']*')|(?P<word>[A-Za-z0-9_:/\-.*]+))"""
)
_STATE_FUNCTIONS = {"ALARM": ALARM, "OK": OK, "INSUFFICIENT_DATA": INSUFFICIENT_DATA}


@dataclass(frozen=True)
class StateIs:
    state: AlarmState
    alarm: str  # name or ARN as written

    def evaluate(self, states: Mapping[str, AlarmState]) -> bool:
        return states.get(_alarm_key(self.alarm)) == self.state

    def alarms(self) -> set[str]:
        return {_alarm_key(self.alarm)}


@dataclass(frozen=True)
class Constant:
    value: bool

    def evaluate(self, states: Mapping[str, AlarmState]) -> bool:
        return self.value

    def alarms(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Not:
    operand: RuleNode

    def evaluate(self, states: Mapping[str, AlarmState]) -> bool:
        return not self.operand.evaluate(states)

    def alarms(self) -> set[str]:
        return self.operand.alarms()


@dataclass(frozen=True)
class BoolOp:
    op: Literal["AND", "OR"]
    operands: tuple[RuleNode, ...] = field(default=())

    def evaluate(self, states: Mapping[str, AlarmState]) -> bool:
        results = (operand.evaluate(states) for operand in self.operands)
        return all(results) if self.op == "AND" else any(results)

    def alarms(self) -> set[str]:
        return set().union(*(operand.alarms() for operand in self.operands))


RuleNode = StateIs | Constant | Not | BoolOp


def _alarm_key(reference: str) -> str:
    """Alarm names and ARNs both identify an alarm: key by name."""
    return reference.split(":alarm:", 1)[1] if ":alarm:" in reference else reference


def _tokens(rule: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = rule.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConfigError(f"AlarmRule: unexpected text at {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append((kind, value[1:-1] if kind == "quoted" else value))
        position = match.end()
    return tokens


def parse_alarm_rule(rule: str) -> RuleNode:
    """Parse an AlarmRule; precedence NOT > AND > OR, parentheses group. ConfigError if malformed."""
    tokens = _tokens(rule)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(kind: str | None = None) -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None or (kind is not None and token[0] != kind):
            raise ConfigError(f"AlarmRule {rule!r}: expected {kind or 'more'} at token {position}")
        position += 1
        return token

    def keyword(word: str) -> bool:
        token = peek()
        return token is not None and token[0] == "word" and token[1].upper() == word

    def expression() -> RuleNode:
        operands = [conjunction()]
        while keyword("OR"):
            take()
            operands.append(conjunction())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def conjunction() -> RuleNode:
        operands = [negation()]
        while keyword("AND"):
            take()
            operands.append(negation())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def negation() -> RuleNode:
        if keyword("NOT"):
            take()
            return Not(negation())
        return atom()

    def atom() -> RuleNode:
        kind, value = take()
        if kind == "lparen":
            node = expression()
            take("rparen")
            return node
        if kind == "word" and value.upper() in ("TRUE", "FALSE"):
            return Constant(value.upper() == "TRUE")
        if kind == "word" and value.upper() in _STATE_FUNCTIONS:
            take("lparen")
            name_kind, name = take()
            if name_kind not in ("quoted", "word") or not name:
                raise ConfigError(f"AlarmRule {rule!r}: {value}(...) needs an alarm name or ARN")
            take("rparen")
            return StateIs(_STATE_FUNCTIONS[value.upper()], name)
        raise ConfigError(f"AlarmRule {rule!r}: unexpected {value!r}")

    if not tokens:
        raise ConfigError("AlarmRule is empty")
    node = expression()
    if position != len(tokens):
        raise ConfigError(f"AlarmRule {rule!r}: unexpected {tokens[position][1]!r} after a complete rule")
    return node


def evaluate_composite(rule: str | RuleNode, states: Mapping[str, AlarmState]) -> Evaluation:
    """ALARM when the rule holds, OK when not; INSUFFICIENT_DATA while a referenced alarm is unknown.

    ``states`` maps alarm names (or ARNs) to their current states.
    """
    node = parse_alarm_rule(rule) if isinstance(rule, str) else rule
    known = {_alarm_key(name): state for name, state in states.items()}
    unknown = sorted(node.alarms() - set(known))
    if unknown:
        return Evaluation(INSUFFICIENT_DATA, f"Unknown alarms in rule: {', '.join(unknown)}")
    holds = node.evaluate(known)
    state = ALARM if holds else OK
    involved = ", ".join(f"{name}={known[name]}" for name in sorted(node.alarms()))
    return Evaluation(state, f"AlarmRule evaluated to {'TRUE' if holds else 'FALSE'} ({involved})")
