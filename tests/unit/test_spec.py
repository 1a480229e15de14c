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
