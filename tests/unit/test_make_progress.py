"""`make test` and `make demo` say what they are doing while they install (no silent minutes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _dry_run(target: str, tmp_path: Path) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # a fresh VENV path: make plans the first-run install, as on a fresh clone
    proc = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path}/venv", f"CHECKOV_VENV={tmp_path}/checkov"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout.splitlines()


@pytest.mark.parametrize("target", ["test", "demo"])
def test_every_install_shows_pip_progress_and_announces_its_step(target: str, tmp_path: Path) -> None:
    lines = _dry_run(target, tmp_path)
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    assert installs, "a fresh clone installs its venvs"
    for i in installs:
        assert " -q" not in lines[i], lines[i]
        announced = [line for line in lines[max(0, i - 3) : i] if line.startswith('echo "==> ')]
        assert announced, f"no progress line before: {lines[i]}"
