"""template.yaml's memory sizes are the ones bench/cost.py picks from its measured table.

bench/measured/cost.json is what `python bench/cost.py --json bench/measured/cost.json` measured
(CPU seconds and peak RSS per function and batch size); the pick rule is cost.py's own (cheapest
size holding 1.5x the peak at the largest documented batch). A template edit without a new
measurement, or a measurement whose pick the template does not follow, fails here; so does a
docs/performance.md table that shows other figures than the measured ones.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

from infra_helpers import REPO

MEASURED = REPO / "bench" / "measured" / "cost.json"


def _cost_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cost", REPO / "bench" / "cost.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _measured() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(MEASURED.read_text())
    return record


def test_the_template_sizes_each_measured_function_as_the_measurements_pick(
    resources: dict[str, Any],
) -> None:
    cost = _cost_module()
    record = _measured()
    assert set(record["measured"]) == set(cost.NAMES)  # every function cost.py measures is recorded
    for name, by_size in record["measured"].items():
        largest = by_size[max(by_size, key=int)]
        picked = cost.pick(largest["cpu"], largest["rss"])
        assert picked == record["picks"][name], name  # the recorded pick follows from the figures
        memory = resources[f"{cost.NAMES[name]}Function"]["Properties"]["MemorySize"]
        assert memory == picked, f"{name}: template.yaml {memory} MB, measured pick {picked} MB"
        assert memory >= cost.HEADROOM * largest["rss"]  # the size holds the measured peak with headroom


def test_the_performance_page_shows_the_measured_table() -> None:
    page = (REPO / "docs" / "performance.md").read_text()
    for name, by_size in _measured()["measured"].items():
        for rows, m in by_size.items():
            row = f"{name:<16} {int(rows):>9,} {m['cpu']:>6.2f} {m['rss']:>8.0f}"
            assert row in page, f"docs/performance.md lacks the measured row {row!r}"
        pick = _measured()["picks"][name]
        assert f"-> pick {pick} MB (largest documented batch" in page, name
