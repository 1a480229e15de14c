"""The peak memory a process reports is its own, not the peak of the process that started it.

Reports, metrics, the local cloud's "Max Memory Used" and the memory-budget tests read it;
getrusage's ru_maxrss survives exec on Linux, so a check started by a 1 GB test worker said 1 GB.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelsteward.observability import peak_memory_mb

CHILD = "from modelsteward.observability import peak_memory_mb; print(peak_memory_mb())"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_child_of_a_large_process_reports_its_own_peak() -> None:
    held = bytearray(400 * 2**20)
    held[::4096] = b"\1" * len(held[::4096])  # touch every page: resident, not just reserved
    assert peak_memory_mb() >= 400
    child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    own = float(child.stdout)
    assert 5 < own < 200, f"child reported {own} MB while its parent held 400 MB"
    del held


def test_the_peak_grows_with_what_this_process_touches() -> None:
    before = peak_memory_mb()
    held = bytearray(int(before * 2**20) + 64 * 2**20)
    held[::4096] = b"\1" * len(held[::4096])
    assert peak_memory_mb() >= before + 60
    del held
