"""Helpers for the template checks: cfn-lint runner, Fn::Sub rendering, policy walking."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
CFNLINT_CONFIG = REPO / "infra" / ".cfnlintrc"
TWO_MODELS = ("credit-default", "churn")
STAGE = "dev"


@dataclass(frozen=True)
class LintResult:
    returncode: int
    output: str


def _cfn_lint_executable() -> str:
    local = Path(sys.executable).parent / "cfn-lint"
    found = str(local) if local.exists() else shutil.which("cfn-lint")
    if found is None:
        pytest.fail("cfn-lint is not installed (pip install -e '.[dev]')")
    return found


def run_cfn_lint(path: Path, *extra: str) -> LintResult:
    """cfn-lint with the project's config (informational checks on, nothing ignored)."""
    proc = subprocess.run(
        [_cfn_lint_executable(), "--config-file", str(CFNLINT_CONFIG), *extra, "--", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    return LintResult(proc.returncode, proc.stdout + proc.stderr)


# The translated template alone may ignore these, each for a reason:
TRANSLATED_LINT_IGNORES = {
    # MonitoredModels is consumed by the AWS::LanguageExtensions expansion (the Fn::ForEach
    # collection); after expansion nothing refers to it, but CloudFormation still takes it.
    "W2001": "parameter used only by Fn::ForEach",
}


def lint_translated(template: Mapping[str, Any], path: Path) -> LintResult:
    path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    ignores = [arg for rule in TRANSLATED_LINT_IGNORES for arg in ("--ignore-checks", rule)]
    return run_cfn_lint(path, *ignores)


def of_type(resources: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def render_intrinsic(value: Any, variables: Mapping[str, str]) -> Any:
    """A string, ``Ref`` (of a known variable), ``Fn::Select``, ``Fn::Split`` or ``Fn::Sub`` (tests only)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, body),) = value.items()
        if key == "Ref" and body in variables:
            return variables[body]
        if key == "Fn::Select":
            return render_intrinsic(body[1], variables)[int(body[0])]
        if key == "Fn::Split":
            return str(render_intrinsic(body[1], variables)).split(body[0])
        if key == "Fn::Sub":
            return render_sub(value, variables)
    raise AssertionError(f"unexpected intrinsic {value!r}")


def render_sub(value: Any, variables: Mapping[str, str]) -> str:
    """Resolve a plain string or an ``Fn::Sub`` (either form) with known variables (tests only)."""
    if isinstance(value, str):
        return value
    text = value["Fn::Sub"]
    if isinstance(text, list):
        text, local = text
        variables = {**variables, **{k: str(render_intrinsic(v, variables)) for k, v in local.items()}}
    if not isinstance(text, str):
        raise AssertionError(f"unexpected Fn::Sub form {value!r}")

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise AssertionError(f"no test value for ${{{name}}} in {text!r}")
        return variables[name]

    return _SUB_VARIABLE.sub(one, text)


SUB_VALUES = {
    "Stage": STAGE,
    "AWS::StackName": "model-steward-dev",
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/model-steward-dev/"
    "6d9c5dde-e790-4b38-8019-001f155d9d0a",
}
#: the suite's bucket names for SUB_VALUES: <stack>-<purpose>-<region>-<first 8 hex digits of the stack id>
BUCKET_SUFFIX = "us-east-1-6d9c5dde"


def statements(policy_document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    found = policy_document["Statement"]
    yield from [found] if isinstance(found, dict) else found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
