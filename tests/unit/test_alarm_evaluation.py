"""The local cloud's alarm evaluator against CloudWatch's documented semantics.

Source: Amazon CloudWatch User Guide, "Using Amazon CloudWatch alarms" -> "Evaluating an alarm"
and "How alarm state is evaluated when data is missing". The two tables there are reproduced
row by row: data points oldest first, ``0`` non-breaching, ``X`` breaching, ``-`` missing,
threshold 3 with GreaterThanThreshold, evaluation range of 5 periods for 3 evaluation periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from modelsteward.errors import ConfigError
from stewardtools.localcloud.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Datapoint,
    MetricAlarmDefinition,
    Sample,
    aggregate,
    evaluate_composite,
    evaluate_metric_alarm,
    evaluation_range,
    format_timestamp,
    parse_alarm_rule,
)

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
PERIOD = 300


def alarm(m: int = 3, n: int = 3, treat: str = "missing", **kw: object) -> MetricAlarmDefinition:
    settings: dict[str, object] = {
        "name": "a",
        "period": PERIOD,
        "evaluation_periods": n,
        "datapoints_to_alarm": m,
        "threshold": 3.0,
        "comparison_operator": "GreaterThanThreshold",
        "statistic": "Maximum",
        "treat_missing_data": treat,
    }
    settings.update(kw)
    return MetricAlarmDefinition(**settings)  # type: ignore[arg-type]


def points(pattern: str) -> list[Datapoint]:
    """'0 - X' -> oldest first; 0 = 1.0 (within), X = 5.0 (breaching), - = missing."""
    symbols = pattern.split()
    values = {"0": 1.0, "X": 5.0, "-": None}
    return [Datapoint(T0 + dt.timedelta(seconds=PERIOD * i), values[s]) for i, s in enumerate(symbols)]


RETAIN = "retain"

# "Datapoints to Alarm and Evaluation Periods are both 3. CloudWatch retrieves the 5 most recent data points"
TABLE_3_OF_3 = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("X - - - -", ALARM, RETAIN, ALARM, OK),
]
# "Datapoints to Alarm is only 2 while Evaluation Periods is 3. This is a 2 out of 3, M out of N alarm."
TABLE_2_OF_3 = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
]
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


def _cases(table: Sequence[tuple[str, str, str, str, str]], m: int) -> list[tuple[int, str, str, str]]:
    return [
        (m, pattern, treat, expected)
        for pattern, *states in table
        for treat, expected in zip(TREATMENTS, states, strict=True)
    ]


@pytest.mark.parametrize(
    ("m", "pattern", "treat", "expected"), _cases(TABLE_3_OF_3, 3) + _cases(TABLE_2_OF_3, 2)
)
@pytest.mark.parametrize("current", [OK, ALARM])
def test_missing_data_tables_of_the_cloudwatch_user_guide(
    m: int, pattern: str, treat: str, expected: str, current: str
) -> None:
    result = evaluate_metric_alarm(alarm(m=m, n=3, treat=treat), points(pattern), current)  # type: ignore[arg-type]
    assert result.state == (current if expected == RETAIN else expected)
    assert result.retained == (expected == RETAIN)


def test_breaching_missing_data_counts_only_as_often_as_needed_so_a_recent_ok_point_keeps_ok() -> None:
    """Guide: row '0 - - - -' stays OK even with breaching, and goes to ALARM once the 0 ages out."""
    definition = alarm(treat="breaching")
    assert evaluate_metric_alarm(definition, points("0 - - - -"), OK).state == OK
    assert evaluate_metric_alarm(definition, points("- - - - -"), OK).state == ALARM


def test_enough_real_datapoints_ignore_the_missing_data_setting() -> None:
    """Guide: when at least EvaluationPeriods datapoints exist, the most recent existing ones decide."""
    for treat in TREATMENTS:
        assert evaluate_metric_alarm(alarm(treat=treat), points("X X - X -"), OK).state == ALARM
        assert evaluate_metric_alarm(alarm(treat=treat), points("0 X X - 0"), ALARM).state == OK


def test_m_out_of_n_breaching_points_need_not_be_consecutive() -> None:
    """Guide: 'The breaching data points do not have to be consecutive'."""
    definition = alarm(m=2, n=3, treat="notBreaching")
    assert evaluate_metric_alarm(definition, points("- - X 0 X"), OK).state == ALARM
    assert evaluate_metric_alarm(definition, points("- - X 0 0"), OK).state == OK


@pytest.mark.parametrize(
    ("operator", "value", "breaches"),
    [
        ("GreaterThanOrEqualToThreshold", 3.0, True),
        ("GreaterThanOrEqualToThreshold", 2.9, False),
        ("GreaterThanThreshold", 3.0, False),
        ("GreaterThanThreshold", 3.1, True),
        ("LessThanThreshold", 3.0, False),
        ("LessThanThreshold", 2.9, True),
        ("LessThanOrEqualToThreshold", 3.0, True),
        ("LessThanOrEqualToThreshold", 3.1, False),
    ],
)
def test_comparison_operators_treat_the_threshold_itself_as_documented(
    operator: str, value: float, breaches: bool
) -> None:
    definition = alarm(m=1, n=1, comparison_operator=operator)
    assert definition.breaches(value) is breaches
    state = evaluate_metric_alarm(definition, [Datapoint(T0, value)], OK).state
    assert state == (ALARM if breaches else OK)


def _samples(values: list[float], at: dt.datetime = T0) -> list[Sample]:
    return [Sample(at + dt.timedelta(seconds=i), value=v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [
        ("Average", 2.5),
        ("Sum", 10.0),
        ("Minimum", 1.0),
        ("Maximum", 4.0),
        ("SampleCount", 4.0),
        ("p50", 2.0),
        ("p75", 3.0),
        ("p100", 4.0),
        ("p99.9", 4.0),
    ],
)
def test_statistics_over_one_period(statistic: str, expected: float) -> None:
    assert aggregate(_samples([3.0, 1.0, 4.0, 2.0]), statistic) == pytest.approx(expected)


def test_statistic_sets_from_put_metric_data_statistic_values_aggregate_like_raw_values() -> None:
    """PutMetricData StatisticValues (Sum/Min/Max/SampleCount) combine with single values."""
    mixed = [Sample(T0, sum=6.0, minimum=1.0, maximum=5.0, count=3.0), Sample(T0, value=10.0)]
    assert aggregate(mixed, "Sum") == 16.0
    assert aggregate(mixed, "SampleCount") == 4.0
    assert aggregate(mixed, "Average") == 4.0
    assert aggregate(mixed, "Minimum") == 1.0
    assert aggregate(mixed, "Maximum") == 10.0
    assert aggregate([], "Sum") is None


def test_unknown_statistic_is_a_clear_configuration_error() -> None:
    with pytest.raises(ConfigError, match="statistic"):
        alarm(statistic="Median")


def test_periods_align_to_multiples_of_the_period_and_the_newest_holds_now() -> None:
    """Each datapoint is one Period; a sample counts in the period containing its timestamp."""
    definition = alarm(m=1, n=1, statistic="Sum")  # range = 3 periods
    now = T0 + dt.timedelta(minutes=12)  # in the period starting at T0+10min
    samples = [
        Sample(T0 + dt.timedelta(minutes=10, seconds=1), value=2.0),
        Sample(T0 + dt.timedelta(minutes=14, seconds=59), value=3.0),
        Sample(T0 + dt.timedelta(minutes=9, seconds=59), value=7.0),  # previous period
        Sample(T0 + dt.timedelta(minutes=15), value=100.0),  # future period: not evaluated
        Sample(T0 - dt.timedelta(minutes=1), value=100.0),  # before the range
    ]
    points_ = evaluation_range(definition, samples, now)
    assert [p.start for p in points_] == [T0, T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=10)]
    assert [p.value for p in points_] == [None, 7.0, 5.0]


def test_naive_timestamps_are_utc_like_moto_stores_them() -> None:
    definition = alarm(m=1, n=1, statistic="Sum")
    naive = [Sample((T0 + dt.timedelta(minutes=1)).replace(tzinfo=None), value=4.0)]
    assert evaluation_range(definition, naive, T0 + dt.timedelta(minutes=2))[-1].value == 4.0


def test_low_sample_percentile_with_ignore_keeps_the_state() -> None:
    """Guide: p99 needs 10/(1-0.99) = 1000 samples before 'ignore' lets it change state."""
    definition = alarm(m=1, n=1, statistic="p99", evaluate_low_sample_count_percentile="ignore")
    few = evaluation_range(definition, _samples([100.0] * 5), T0 + dt.timedelta(seconds=30))
    assert evaluate_metric_alarm(definition, few, OK).state == OK
    evaluated = alarm(m=1, n=1, statistic="p99", evaluate_low_sample_count_percentile="evaluate")
    assert evaluate_metric_alarm(evaluated, few, OK).state == ALARM


def test_datapoints_to_alarm_must_fit_the_evaluation_periods() -> None:
    with pytest.raises(ConfigError, match="DatapointsToAlarm"):
        alarm(m=4, n=3)


def test_reason_uses_cloudwatch_wording_with_values_and_threshold() -> None:
    result = evaluate_metric_alarm(alarm(m=1, n=1), points("- - X"), OK)
    assert result.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [5.0 (")
    assert "greater than the threshold (3.0)" in result.reason


def test_notification_timestamp_format() -> None:
    assert format_timestamp(dt.datetime(2021, 9, 10, 19, 56, 47, 588000, tzinfo=dt.UTC)) == (
        "2021-09-10T19:56:47.588+0000"
    )


# --- composite alarms (AlarmRule syntax from the PutCompositeAlarm API reference) -------------
STATES = {"cpu": ALARM, "disk": OK, "net": INSUFFICIENT_DATA}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('ALARM("cpu")', ALARM),
        ("ALARM(disk)", OK),
        ('OK("disk")', ALARM),
        ("INSUFFICIENT_DATA('net')", ALARM),
        ('ALARM("cpu") AND ALARM("disk")', OK),
        ('ALARM("cpu") OR ALARM("disk")', ALARM),
        ('NOT ALARM("disk")', ALARM),
        ('ALARM("disk") OR ALARM("cpu") AND OK("disk")', ALARM),  # AND binds tighter than OR
        ('(ALARM("disk") OR ALARM("cpu")) AND NOT OK("disk")', OK),
        ("TRUE", ALARM),
        ("FALSE", OK),
        ('ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu") AND TRUE', ALARM),
    ],
)
def test_composite_alarm_rules(rule: str, expected: str) -> None:
    assert evaluate_composite(rule, STATES).state == expected  # type: ignore[arg-type]


def test_composite_referring_to_an_unknown_alarm_has_insufficient_data() -> None:
    assert evaluate_composite('ALARM("gone") OR ALARM("cpu")', STATES).state == INSUFFICIENT_DATA  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rule", ["", 'ALARM("cpu") AND', 'ALARM("cpu"', "ALARMS(cpu)", 'ALARM("cpu") OK("x")', "()"]
)
def test_malformed_alarm_rules_are_rejected(rule: str) -> None:
    with pytest.raises(ConfigError):
        parse_alarm_rule(rule)
