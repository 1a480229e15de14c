"""`steward local advance` -> the running `steward local up`: requests to let simulated time pass.

A request is a small JSON file in ``<state dir>/clock/``; the server's background thread picks it up,
lets the time pass (LocalCloud.pass_time: schedules fire, alarms evaluate, hour by hour) and writes
the answer next to it. Files, not a port: nothing new listens, and only someone who can write the
state dir (the user who started the cloud) can move its clock.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelsteward.errors import ConfigError

MAX_HOURS = 24 * 366


@dataclass(frozen=True)
class TimeRequest:
    path: Path
    hours: float


class TimeRequests:
    def __init__(self, state_dir: Path) -> None:
        self.folder = Path(state_dir) / "clock"

    def ask(self, hours: float, *, timeout: float = 600.0) -> dict[str, Any]:
        """Send one request and wait for the server's answer."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.folder / f"{name}.tmp"
        tmp.write_text(json.dumps({"hours": hours}), encoding="utf-8")
        tmp.rename(self.folder / f"{name}.request.json")  # atomic: the server never reads half a file
        answer = self.folder / f"{name}.answer.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answer.exists():
                data: dict[str, Any] = json.loads(answer.read_text(encoding="utf-8"))
                answer.unlink(missing_ok=True)
                if "error" in data:
                    raise ConfigError(f"the local cloud could not let time pass: {data['error']}")
                return data
            time.sleep(0.2)
        raise ConfigError(
            f"no answer from the local cloud within {timeout:g} s: is `steward local up` running?"
        )

    def pending(self) -> Iterator[TimeRequest]:
        """Requests waiting, oldest first (a malformed one is answered with an error)."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.request.json"), key=lambda p: p.stat().st_mtime):
            try:
                hours = float(json.loads(path.read_text(encoding="utf-8"))["hours"])
                if not 0 < hours <= MAX_HOURS:
                    raise ValueError(f"hours must be in (0, {MAX_HOURS}]")
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                self._write(path, {"error": f"bad request: {exc}"})
                continue
            yield TimeRequest(path, hours)

    def answer(self, request: TimeRequest, outcome: dict[str, Any]) -> None:
        self._write(request.path, outcome)

    def _write(self, request: Path, body: dict[str, Any]) -> None:
        name = request.name.removesuffix(".request.json")
        tmp = self.folder / f"{name}.answer.tmp"
        tmp.write_text(json.dumps(body, default=str), encoding="utf-8")
        tmp.rename(self.folder / f"{name}.answer.json")
        request.unlink(missing_ok=True)
