"""Synthetic reference/current Parquet files with a known truth, for `make bench`.

25 columns: 20 numeric, 5 categorical. The current set differs from the reference in known ways:

- drifted (must be flagged): n00-n03 mean shift 0.5 sd; n04-n06 variance x1.5; c0-c1 category
  frequency shift;
- negligible (must NOT be flagged): n07-n10 mean shift 0.02 sd; c2 category shares moved by 0.5 pp;
- untouched (must NOT be flagged): n11-n19 (normal, lognormal, uniform, integer counts), c3-c4.

Both sets use the same seed-derived generator, so every tool reads exactly the same bytes.

``blocks=k`` (the wide case) repeats the 25 columns k times, block b's columns suffixed ``_b`` and
drawn with their own seed: 200 columns at k=8, the same truth per block.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
DRIFTED = [*NUMERIC[0:7], "c0", "c1"]
NEGLIGIBLE = [*NUMERIC[7:11], "c2"]
UNTOUCHED = [*NUMERIC[11:20], "c3", "c4"]
CATEGORIES = ["a", "b", "c", "d", "e", "f"]
BASE_SHARES = np.array([0.30, 0.25, 0.20, 0.12, 0.08, 0.05])
SHIFTED_SHARES = np.array([0.20, 0.20, 0.20, 0.16, 0.14, 0.10])  # frequency shift
NUDGED_SHARES = np.array([0.295, 0.25, 0.20, 0.125, 0.08, 0.05])  # 0.5 pp: negligible


def _base(name: str) -> str:
    return name.split("_", 1)[0]


def _numeric(name: str, n: int, current: bool, rng: np.random.Generator) -> np.ndarray:
    i = int(_base(name)[1:])
    kind = i % 4  # the untouched ones vary in shape
    if i < 4:  # mean shift 0.5 sd
        return rng.normal(10.0 + (0.5 if current else 0.0) * 2.0, 2.0, n)
    if i < 7:  # variance x1.5
        return rng.normal(0.0, np.sqrt(1.5) if current else 1.0, n)
    if i < 11:  # negligible shift 0.02 sd
        return rng.normal(0.02 * 3.0 if current else 0.0, 3.0, n)
    if kind == 0:
        return rng.lognormal(0.0, 0.75, n)
    if kind == 1:
        return rng.uniform(-5.0, 5.0, n)
    if kind == 2:
        return rng.poisson(4.0, n).astype(np.float64)
    return rng.normal(100.0, 15.0, n)


def _categorical(name: str, n: int, current: bool, rng: np.random.Generator) -> pa.Array:
    shares = BASE_SHARES
    if current and _base(name) in DRIFTED:
        shares = SHIFTED_SHARES
    elif current and _base(name) in NEGLIGIBLE:
        shares = NUDGED_SHARES
    idx = rng.choice(len(CATEGORIES), size=n, p=shares / shares.sum()).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(CATEGORIES)).cast(pa.string())


def names(base: list[str], blocks: int = 1) -> list[str]:
    """Column names of ``blocks`` copies of ``base`` (the plain names when there is one block)."""
    return list(base) if blocks == 1 else [f"{c}_{b}" for b in range(blocks) for c in base]


def make_table(n: int, current: bool, seed: int, blocks: int = 1) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for b in range(blocks):
        rng = np.random.default_rng([seed, n, int(current)] + ([b] if b else []))
        block = {
            c: pa.array(_numeric(c, n, current, rng)) for c in names(NUMERIC, blocks)[b * 20 : b * 20 + 20]
        }
        block.update(
            {c: _categorical(c, n, current, rng) for c in names(CATEGORICAL, blocks)[b * 5 : b * 5 + 5]}
        )
        cols.update(block)
    numeric = [c for c in cols if not _base(c).startswith("c")]
    return pa.table({c: cols[c] for c in [*numeric, *[c for c in cols if c not in numeric]]})


def spec_dict(blocks: int = 1) -> dict:
    """The model spec the suite monitors these files with (same shape `steward check` infers)."""
    return {
        "name": "bench",
        "task": "regression",
        "primary_metric": "rmse",
        "target": "__target__",
        "prediction_column": "__prediction__",
        "features": {"numeric": names(NUMERIC, blocks), "categorical": names(CATEGORICAL, blocks)},
        "pii": {"action": "allow"},
    }


def generate(directory: Path, n: int, seed: int = 0, blocks: int = 1) -> dict[str, str]:
    """Write reference.parquet, current.parquet, truth.json and spec.json once per size and seed."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "reference": directory / "reference.parquet",
        "current": directory / "current.parquet",
        "truth": directory / "truth.json",
        "spec": directory / "spec.json",
    }
    truth = {
        "rows": n,
        "seed": seed,
        "numeric": names(NUMERIC, blocks),
        "categorical": names(CATEGORICAL, blocks),
        "drifted": names(DRIFTED, blocks),
        "negligible": names(NEGLIGIBLE, blocks),
        "untouched": names(UNTOUCHED, blocks),
    }
    marker = paths["truth"]
    if not (marker.exists() and json.loads(marker.read_text()) == truth):
        for role in ("reference", "current"):
            pq.write_table(make_table(n, role == "current", seed, blocks), paths[role])
        paths["spec"].write_text(json.dumps(spec_dict(blocks)))
        marker.write_text(json.dumps(truth))
    return {k: str(v) for k, v in paths.items()}
