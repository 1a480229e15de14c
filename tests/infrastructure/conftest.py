"""Fixtures for the template checks: the SAM template and its translation (two models)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from infra_helpers import STAGE, TEMPLATE, TWO_MODELS, statements

from stewardtools.localcloud.translate import load_template, translate


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation would run it, with two monitored models."""
    template: dict[str, Any] = translate(
        sam_template, parameters={"MonitoredModels": ",".join(TWO_MODELS), "Stage": STAGE}
    )
    return template


@pytest.fixture(scope="session")
def resources(translated: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = translated["Resources"]
    return found


@pytest.fixture(scope="session")
def role_statements(resources: dict[str, Any]) -> Callable[[str], list[dict[str, Any]]]:
    """All Allow/Deny statements that apply to a function's role (inline + our managed policy)."""

    def collect(function_id: str) -> list[dict[str, Any]]:
        role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        role = resources[role_id]["Properties"]
        found = [s for p in role.get("Policies", []) for s in statements(p["PolicyDocument"])]
        for arn in role.get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and "Ref" in arn:
                managed = resources[arn["Ref"]]["Properties"]["PolicyDocument"]
                found.extend(statements(managed))
        return found

    return collect
