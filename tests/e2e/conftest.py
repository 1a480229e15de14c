"""End-to-end fixtures: the real template.yaml deployed on the local cloud (moto, in-process).

``local_cloud`` deploys once per test module (a few seconds) with the real handlers of
functions/; tests in a module share it, so they assert on what they caused (their own keys,
their own alarms), never on global counts. Only one LocalCloud runs per process at a time:
module scope guarantees the previous module's cloud is gone before the next one starts.

``recorder_dir`` is a tiny handler that records every event it gets (and fails on request), for
pointing a function at it with ``LocalCloud.code_override(function, recorder_dir)``: it pins the
exact event shapes and the retry/dead-letter path independently of the real handlers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stewardtools.localcloud.deploy import LocalCloud

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
MODEL = "credit-default"

RECORDER_SOURCE = '''
"""Test handler: appends what it received to calls.jsonl next to this file."""
import json
import os
from pathlib import Path

from aws_lambda_powertools.utilities.parser import envelopes, parse
from pydantic import BaseModel


class AlarmNotification(BaseModel):
    AlarmName: str
    NewStateValue: str
    OldStateValue: str
    NewStateReason: str
    StateChangeTime: str
    Region: str
    AlarmArn: str


def handler(event, context):
    record = {
        "event": event,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "DATA_BUCKET", "STAGE",
                                              "POWERTOOLS_SERVICE_NAME", "AWS_ENDPOINT_URL")},
    }
    records = event.get("Records") if isinstance(event, dict) else None
    if records and records[0].get("EventSource") == "aws:sns":
        alarms = parse(event=event, model=AlarmNotification, envelope=envelopes.SnsEnvelope)
        record["alarms"] = [a.model_dump() for a in alarms]
    if isinstance(event, dict) and "emf" in event:
        print(json.dumps(event["emf"]))
    with (Path(__file__).parent / "calls.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\\n")
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("recorder was asked to fail")
    return {"recorded": True, "function": context.function_name}
'''


class Recorder:
    """Reads what the recorder handler saw."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "app.py").write_text(RECORDER_SOURCE, encoding="utf-8")

    @property
    def calls(self) -> list[dict[str, Any]]:
        path = self.folder / "calls.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def clear(self) -> None:
        (self.folder / "calls.jsonl").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    state = tmp_path_factory.mktemp("local-cloud")
    with LocalCloud(template=TEMPLATE, models=[MODEL], state_dir=state) as cloud:
        yield cloud


@pytest.fixture
def model() -> str:
    """The model the local_cloud fixture monitors (per-model alarms exist for it)."""
    return MODEL


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path)
