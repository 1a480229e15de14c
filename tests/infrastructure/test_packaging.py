"""Each function's deployment: its app.py and only the modelsteward modules its handler reaches.

functions/Makefile (what ``sam build`` runs for every function, ``BuildMethod: makefile``) drives
layers/deps/build_function.py; ``make size`` checks the same on the full build and runs it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from infra_helpers import REPO

FUNCTIONS = REPO / "functions"
PACKAGE = "modelsteward"


def _build_tool(name: str) -> ModuleType:
    if str(REPO / "layers" / "deps") not in sys.path:  # they import each other by name, as make runs them
        sys.path.insert(0, str(REPO / "layers" / "deps"))
    return importlib.import_module(name)


build_function, build_layer, import_graph = map(
    _build_tool, ("build_function", "build_layer", "import_graph")
)
#: modules of the data path: the light functions (alarms, the audit) must not carry them
DATA_PATH = {f"{PACKAGE}.domain.training", f"{PACKAGE}.domain.drift", f"{PACKAGE}.services.monitor_batch"}


def functions_of(sam_template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> the function's folder name (its CodeUri)."""
    return {
        logical_id: resource["Properties"]["CodeUri"].rstrip("/").rsplit("/", 1)[-1]
        for logical_id, resource in sam_template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function"
    }


def deployed(artifacts: Path) -> set[str]:
    return set(import_graph.package_modules(artifacts, PACKAGE))


def reach(function: str) -> set[str]:
    return set(build_function.reachable(FUNCTIONS / function / "app.py"))


def test_every_function_is_built_by_functions_makefile(sam_template: dict[str, Any]) -> None:
    functions = functions_of(sam_template)
    assert len(functions) == 11
    makefile = (FUNCTIONS / "Makefile").read_text()
    assert "\nbuild-%Function:" in makefile  # the one target every logical id below matches
    for logical_id, name in functions.items():
        resource = sam_template["Resources"][logical_id]
        assert resource["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "functions"}, logical_id
        assert logical_id.endswith("Function") and (FUNCTIONS / name / "app.py").is_file(), logical_id


def test_sam_build_never_reuses_a_function_build(sam_template: dict[str, Any]) -> None:
    # SAM keys a cached function build on its CodeUri (functions/<name>/) alone: it would deploy
    # modelsteward modules as they were at the last build that saw app.py change
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    builds = [
        env["build"]["parameters"] for env in config.values() if isinstance(env, dict) and "build" in env
    ]
    assert builds
    assert all(parameters.get("cached") is False for parameters in builds)


def test_each_deployment_holds_exactly_the_modules_its_handler_reaches(
    sam_template: dict[str, Any], tmp_path: Path
) -> None:
    every = set(import_graph.package_modules(REPO / "layers" / "steward", PACKAGE))
    for logical_id, name in functions_of(sam_template).items():
        artifacts = tmp_path / name
        build_function.build(logical_id, FUNCTIONS / name, artifacts, bytecode=False)
        modules = deployed(artifacts)
        assert modules - reach(name) == set(), f"{name} ships modules its handler cannot reach"
        assert reach(name) - modules == set(), f"{name} lacks modules its handler reaches"
        assert (artifacts / "app.py").read_bytes() == (FUNCTIONS / name / "app.py").read_bytes()
        assert len(modules) < len(every), f"{name} ships the whole runtime"
    # the light functions carry none of the data path (the issue: all eleven shipped everything)
    assert deployed(tmp_path / "handle_alarm") & DATA_PATH == set()
    assert deployed(tmp_path / "run_audit") & DATA_PATH == set()
    assert deployed(tmp_path / "train_model") | deployed(tmp_path / "monitor_batch") >= DATA_PATH


def test_the_makefile_builds_a_deployment_as_lambda_loads_it(tmp_path: Path) -> None:
    artifacts = tmp_path / "handle_alarm"
    make = [f"--makefile={FUNCTIONS / 'Makefile'}", "build-HandleAlarmFunction", f"ARTIFACTS_DIR={artifacts}"]
    # as sam build runs it: in (a copy of) the function's CodeUri
    subprocess.run(["make", "-s", *make], cwd=FUNCTIONS / "handle_alarm", check=True, capture_output=True)
    assert (artifacts / "app.py").is_file()  # the handler at the zip's root: Handler app.handler
    assert deployed(artifacts) == reach("handle_alarm")
    if build_layer.python312() is None:
        pytest.skip("no python3.12 here: the build ships sources only (and warns)")
    # /var/task is read-only: without python3.12 bytecode every cold start compiles the modules
    for source in [artifacts / "app.py", *(artifacts / PACKAGE).rglob("*.py")]:
        assert (source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc").is_file(), source


def test_a_rebuild_drops_a_module_the_handler_no_longer_reaches(tmp_path: Path) -> None:
    artifacts = tmp_path / "run_audit"
    build_function.build("RunAuditFunction", FUNCTIONS / "run_audit", artifacts, bytecode=False)
    stale = artifacts / PACKAGE / "services" / "train_model.py"
    assert not stale.exists()
    stale.write_text("# left by an earlier build\n")
    build_function.build("RunAuditFunction", FUNCTIONS / "run_audit", artifacts, bytecode=False)
    assert not stale.exists()
    assert deployed(artifacts) == reach("run_audit")


def test_a_folder_without_a_handler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"no app\.py"):
        build_function.build("EmptyFunction", tmp_path, tmp_path / "out", bytecode=False)
