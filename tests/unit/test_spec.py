from __future__ import annotations

import pytest

from modelsteward.errors import SpecError
from modelsteward.spec import parse_spec

BASE = """
name: credit-default
task: binary
target: default
features:
  numeric: [age, income]
  categorical: [region]
segments: [region]
primary_metric: roc_auc
"""


def test_minimal_spec_gets_field_defaults() -> None:
    spec = parse_spec(BASE)
    assert spec.drift.threshold == 0.1 and spec.drift.p_value == 0.05
    assert spec.monitored_columns == ["age", "income", "region", "prediction"]
    assert spec.greater_is_better


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ("primary_metric: mae\n", "primary_metric: 'mae' is not one of"),
        ("estimator:\n  class_path: os.system\n", "estimator.class_path"),
        ("drift:\n  threshold: 0.1\n  warn_threshold: 0.5\n", "warn_threshold must not exceed threshold"),
        ("unknown_field: 1\n", "unknown_field: unknown field"),
        ("segments: [zipcode]\n", "segments: ['zipcode'] must be listed features"),
    ],
)
def test_bad_spec_names_field_and_fix(patch: str, expected: str) -> None:
    lines = [ln for ln in BASE.splitlines() if not ln.startswith(patch.split(":")[0] + ":")]
    with pytest.raises(SpecError) as info:
        parse_spec("\n".join(lines) + "\n" + patch)
    assert expected in str(info.value)


def test_missing_required_field_says_add_it() -> None:
    with pytest.raises(SpecError, match="target: required field is missing"):
        parse_spec("name: a\ntask: binary\nfeatures: {numeric: [x]}\n")


def test_not_yaml_mapping() -> None:
    with pytest.raises(SpecError, match="YAML mapping"):
        parse_spec("- just\n- a list\n")


def test_invalid_model_name() -> None:
    with pytest.raises(SpecError, match="name: use lowercase"):
        parse_spec(BASE.replace("credit-default", "Credit Default"))


# --- the loader's limits (docs/model-spec.md) --------------------------------------------------------
def test_a_few_aliases_are_fine() -> None:
    spec = parse_spec(BASE + "drift:\n  features:\n    region: &strict {threshold: 0.05}\n    age: *strict\n")
    assert spec.drift.features["age"].threshold == spec.drift.features["region"].threshold == 0.05


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("x: " + "[" * 40 + "1" + "]" * 40 + "\n", "nested more than 32"),
        ("x: " + "[" * 5000 + "1" + "]" * 5000 + "\n", "nested more than 32"),
        ("a: &a [1]\nb: [" + ", ".join(["*a"] * 65) + "]\n", "more than 64 YAML aliases"),
        (
            "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]\n"
            "b: &b [" + ", ".join(["*a"] * 20) + "]\nc: &c [" + ", ".join(["*b"] * 20) + "]\n"
            "d: [" + ", ".join(["*c"] * 20) + "]\n",
            "expands to more than 20000 values",
        ),
        ("a: &a [1, *a]\n", "refers to itself"),
    ],
    ids=["depth-40", "depth-5000", "aliases", "expansion", "recursive"],
)
def test_hostile_yaml_is_a_spec_error_not_a_crash(extra: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        parse_spec(BASE + extra)


def test_an_oversized_spec_is_refused_before_parsing() -> None:
    with pytest.raises(SpecError, match="the limit is 1048576 bytes"):
        parse_spec(b"{" * (2 * 2**20))  # would be a YAML error (or worse) if it were parsed
