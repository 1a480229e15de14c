"""`make bench`, sensitivity case: modest persistent shifts must be found, negligible ones never.

    python bench/sensitivity.py [--data DIR] [--evidently PY] [--nannyml PY] [--tools ours,evidently,nannyml]

Known truth (seeded, bench/sensitivity.py:make_tables): a reference of 60,000 rows and an analysis
period of 12 chunks of 5,000 rows, 16 features.

- shifted in chunks 7-12 only (must be flagged there): w05, w07, w10 (mean shifts of 0.05, 0.07, 0.1
  sd: Wasserstein 0.05-0.1 sd), s06 (std x1.08: Wasserstein ~0.064 sd), j035 (binary, Jensen-Shannon
  0.035), j05 (5 categories, JS 0.05), j08 (4 categories, JS 0.08): 42 feature-chunks;
- negligible in all 12 chunks (must never be flagged): g1, g2 (mean shift 0.02 sd), gc (0.5 pp of
  category mass moved);
- untouched (must never be flagged): u_normal, u_uniform, u_poisson, u_lognormal, u_cat, u_binary.

Ours: the baseline (with its noise bands) is built once from the reference; each chunk is a batch
(profile_batch + detect_drift), and persistence runs as in monitor_batch (domain/persistence.py
persistent_at over the drift episode's kept observations, 3 of the last 4 batches, drift only in a
batch beyond its band). "at decision" counts a chunk flagged when its own batch verdict is drift
or persistence marks it drift at that batch; "episode" also counts the chunks from where the
persistent run began (``since``), which is what the episode reports.
"ours, plain threshold" is the rule before noise bands (a baseline without them). The peers run
in their own venvs (bench/workers/peers.py chunks mode) on the same files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
WORKERS = HERE / "workers"
REFERENCE_ROWS = 60_000
CHUNK_ROWS = 5_000
CHUNKS = 12
SHIFTED_CHUNKS = list(range(6, 12))  # the second half
MEAN_SHIFTS = {"w05": 0.05, "w07": 0.07, "w10": 0.10}
SPREAD = {"s06": 1.08}
JS_TARGETS = {
    "j035": ([0.8, 0.2], 0.035),
    "j05": ([0.40, 0.25, 0.15, 0.12, 0.08], 0.05),
    "j08": ([0.35, 0.30, 0.20, 0.15], 0.08),
}
NEGLIGIBLE_MEAN = {"g1": 0.02, "g2": 0.02}
NEGLIGIBLE_CAT = {"gc": ([0.30, 0.25, 0.20, 0.15, 0.10], [0.295, 0.25, 0.20, 0.155, 0.10])}
UNTOUCHED_NUM = ["u_normal", "u_uniform", "u_poisson", "u_lognormal"]
UNTOUCHED_CAT = {"u_cat": [0.30, 0.25, 0.20, 0.12, 0.08, 0.05], "u_binary": [0.7, 0.3]}
SHIFTED = [*MEAN_SHIFTS, *SPREAD, *JS_TARGETS]
NEGLIGIBLE = [*NEGLIGIBLE_MEAN, *NEGLIGIBLE_CAT]
UNTOUCHED = [*UNTOUCHED_NUM, *UNTOUCHED_CAT]
NUMERIC = [*MEAN_SHIFTS, *SPREAD, *NEGLIGIBLE_MEAN, *UNTOUCHED_NUM]
CATEGORICAL = [*JS_TARGETS, *NEGLIGIBLE_CAT, *UNTOUCHED_CAT]


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    return math.sqrt(max(0.0, (np.sum(p * np.log2(p / m)) + np.sum(q * np.log2(q / m))) / 2))


def shifted_shares(base: list[float], target: float) -> np.ndarray:
    """Move mass from the first category to the last until the JS distance is ``target``."""
    p = np.asarray(base)
    lo, hi = 0.0, min(p[0], 1 - p[-1])
    for _ in range(60):
        mid = (lo + hi) / 2
        q = p.copy()
        q[0] -= mid
        q[-1] += mid
        lo, hi = (mid, hi) if js_distance(p, q) < target else (lo, mid)
    q = p.copy()
    q[0] -= lo
    q[-1] += lo
    return q


def _cats(rng: np.random.Generator, shares: np.ndarray, n: int) -> pa.Array:
    labels = [f"k{i}" for i in range(len(shares))]
    idx = rng.choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(labels)).cast(pa.string())


def make_table(n: int, rng: np.random.Generator, *, shifted: bool, negligible: bool) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    for name, shift in MEAN_SHIFTS.items():
        cols[name] = pa.array(rng.normal(10.0 + (shift * 2.0 if shifted else 0.0), 2.0, n))
    for name, factor in SPREAD.items():
        cols[name] = pa.array(rng.normal(0.0, factor if shifted else 1.0, n))
    for name, shift in NEGLIGIBLE_MEAN.items():
        cols[name] = pa.array(rng.normal(shift * 3.0 if negligible else 0.0, 3.0, n))
    cols["u_normal"] = pa.array(rng.normal(100.0, 15.0, n))
    cols["u_uniform"] = pa.array(rng.uniform(-5.0, 5.0, n))
    cols["u_poisson"] = pa.array(rng.poisson(4.0, n).astype(np.float64))
    cols["u_lognormal"] = pa.array(rng.lognormal(0.0, 0.75, n))
    for name, (base, target) in JS_TARGETS.items():
        shares = shifted_shares(base, target) if shifted else np.asarray(base)
        cols[name] = _cats(rng, shares, n)
    for name, (base, nudged) in NEGLIGIBLE_CAT.items():
        cols[name] = _cats(rng, np.asarray(nudged if negligible else base), n)
    for name, shares in UNTOUCHED_CAT.items():
        cols[name] = _cats(rng, np.asarray(shares), n)
    return pa.table(cols)


def truth() -> dict:
    return {
        "numeric": NUMERIC,
        "categorical": CATEGORICAL,
        "shifted": SHIFTED,
        "negligible": NEGLIGIBLE,
        "untouched": UNTOUCHED,
        "chunk_rows": CHUNK_ROWS,
        "chunks": CHUNKS,
        "shifted_chunks": SHIFTED_CHUNKS,
        "reference_rows": REFERENCE_ROWS,
        "js_targets": {k: t for k, (_, t) in JS_TARGETS.items()},
        "js_actual": {
            k: js_distance(np.asarray(b), shifted_shares(b, t)) for k, (b, t) in JS_TARGETS.items()
        },
        "negligible_js": {
            k: js_distance(np.asarray(b), np.asarray(q)) for k, (b, q) in NEGLIGIBLE_CAT.items()
        },
    }


def spec_dict() -> dict:
    return {
        "name": "sensitivity",
        "task": "regression",
        "primary_metric": "rmse",
        "target": "__target__",
        "prediction_column": "__prediction__",
        "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
        "pii": {"action": "allow"},
    }


def generate(directory: Path, seed: int = 0) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.parquet" for name in ("reference", "analysis")}
    marker = directory / "truth.json"
    expected = {**truth(), "seed": seed}
    if not (marker.exists() and json.loads(marker.read_text()) == expected):
        rng = np.random.default_rng([seed, 22])
        pq.write_table(make_table(REFERENCE_ROWS, rng, shifted=False, negligible=False), paths["reference"])
        chunks = [
            make_table(CHUNK_ROWS, rng, shifted=i in SHIFTED_CHUNKS, negligible=True) for i in range(CHUNKS)
        ]
        pq.write_table(pa.concat_tables(chunks), paths["analysis"])
        marker.write_text(json.dumps(expected))
    return {**{k: str(v) for k, v in paths.items()}, "truth": str(marker)}


# --- ours ----------------------------------------------------------------------------------
def ours(files: dict[str, str]) -> dict[str, list[list[str]]]:
    """Per-chunk flagged features: the batch verdict alone, with persistence (at decision and over
    the episode), and the plain-threshold rule of baselines without noise bands. Persistence runs as
    monitor_batch runs it, minus the storage: each chunk's drift observation (with its features'
    evidence) is folded into an in-memory drift episode, and the next chunk reads it back."""
    import datetime as dt

    from modelsteward.domain.baseline_builder import build_baseline
    from modelsteward.domain.drift import detect_drift, mark_persistent
    from modelsteward.domain.episodes import Observation, SignalEpisode, iso, observe
    from modelsteward.domain.persistence import drift_reasons, evidence_of, persistent_at
    from modelsteward.domain.profile import profile_batch
    from modelsteward.spec import parse_spec

    spec = parse_spec(spec_dict())
    reference = pq.read_table(files["reference"])
    analysis = pq.read_table(files["analysis"])
    baseline = build_baseline(reference, spec, seed=spec.seed)
    plain = baseline.model_copy(
        update={"columns": {k: c.model_copy(update={"noise": None}) for k, c in baseline.columns.items()}}
    )
    batch, plain_flags, online = [], [], []
    episode: list[set[str]] = [set() for _ in range(CHUNKS)]
    book = SignalEpisode(signal="drift")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    times = [iso(start + dt.timedelta(hours=i)) for i in range(CHUNKS)]  # one chunk an hour
    for i in range(CHUNKS):
        chunk = analysis.slice(i * CHUNK_ROWS, CHUNK_ROWS)
        profile = profile_batch(chunk, baseline, spec)
        result = detect_drift(baseline, profile, spec.drift)
        drifted = {f.name for f in result.features if f.drifted}
        current = Observation(
            batch_id=f"chunk-{i + 1}",
            event_time=times[i],
            arrived_at=times[i],
            breached=False,
            features=evidence_of(result.features),
        )
        floors = {f.name: f.floor for f in result.features if f.floor is not None}
        runs = persistent_at(book.recent, current, spec.drift.persistence, floors=floors)
        reasons = drift_reasons(runs)
        marked = mark_persistent(result, reasons)
        current = current.model_copy(update={"persistent": runs, "breached": marked.dataset.drifted})
        book, _ = observe(book, current, spec.alerts.drift, keep=spec.drift.persistence.batches)
        batch.append(sorted(drifted))
        online.append(sorted(drifted | set(reasons)))
        episode[i] |= drifted | set(reasons)
        for name in reasons:
            for j in range(times.index(runs[name].since), i + 1):
                episode[j].add(name)
        plain_flags.append(
            sorted(f.name for f in detect_drift(plain, profile, spec.drift).features if f.drifted)
        )
    return {
        "ours (batch verdict + persistence, episode)": [sorted(e) for e in episode],
        "ours (batch verdict + persistence, at decision)": online,
        "ours (batch verdict alone)": batch,
        "ours, plain threshold (no noise bands)": plain_flags,
    }


def peer(python: str, tool: str, files: dict[str, str], out: Path) -> dict[str, list[list[str]]]:
    out.unlink(missing_ok=True)
    argv = [python, str(WORKERS / "peers.py"), f"{tool}-chunks", files["reference"], files["analysis"]]
    proc = subprocess.run(  # noqa: S603 - our own interpreters and scripts
        [*argv, files["truth"], str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"},
        check=False,
    )
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"{tool} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())["chunks"]


def score(chunks: list[list[str]]) -> dict:
    shifted_total = len(SHIFTED) * len(SHIFTED_CHUNKS)
    found = sum(1 for i in SHIFTED_CHUNKS for f in SHIFTED if f in chunks[i])
    early = sum(1 for i in range(CHUNKS) if i not in SHIFTED_CHUNKS for f in SHIFTED if f in chunks[i])
    quiet = [*NEGLIGIBLE, *UNTOUCHED]
    false_chunks = sum(1 for i in range(CHUNKS) for f in quiet if f in chunks[i])
    ever = sorted({f for i in range(CHUNKS) for f in quiet if f in chunks[i]})
    return {
        "found": found,
        "of": shifted_total,
        "recall": found / shifted_total,
        "false_feature_chunks": false_chunks + early,
        "quiet_feature_chunks": len(quiet) * CHUNKS + len(SHIFTED) * (CHUNKS - len(SHIFTED_CHUNKS)),
        "quiet_features_ever_flagged": ever,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".bench")
    parser.add_argument("--evidently", default=".venv-bench-evidently/bin/python")
    parser.add_argument("--nannyml", default=".venv-bench-nannyml/bin/python")
    parser.add_argument("--tools", default="ours,evidently,nannyml")
    args = parser.parse_args()
    run(Path(args.data).resolve() / "sensitivity", args.tools.split(","), args.evidently, args.nannyml)


def run(root: Path, tools: list[str], evidently: str, nannyml: str) -> dict:
    files = generate(root)
    facts = json.loads(Path(files["truth"]).read_text())
    print(
        f"\n== sensitivity: reference {REFERENCE_ROWS:,} rows, {CHUNKS} chunks of {CHUNK_ROWS:,}; "
        f"{len(SHIFTED)} features shifted in chunks {SHIFTED_CHUNKS[0] + 1}-{SHIFTED_CHUNKS[-1] + 1} "
        f"({len(SHIFTED) * len(SHIFTED_CHUNKS)} feature-chunks), {len(NEGLIGIBLE)} negligible, "
        f"{len(UNTOUCHED)} untouched",
        flush=True,
    )
    js = ", ".join(f"{k} {v:.3f}" for k, v in facts["js_actual"].items())
    print(f"   shifted: Wasserstein {MEAN_SHIFTS} sd, spread {SPREAD}; Jensen-Shannon {js}")
    results: dict[str, list[list[str]]] = {}
    timings: dict[str, float] = {}
    for tool in tools:
        t0 = time.perf_counter()
        if tool == "ours":
            found = ours(files)
        else:
            found = peer(evidently if tool == "evidently" else nannyml, tool, files, root / f"{tool}.json")
        timings[tool] = time.perf_counter() - t0
        results.update(found)
    print(f"\n{'tool':<58} {'shifted flagged':>15} {'recall':>6} {'false':>9}  quiet features ever flagged")
    summary = {}
    for label, chunks in results.items():
        s = score(chunks)
        summary[label] = s
        print(
            f"{label:<58} {s['found']:>9}/{s['of']:<5} {s['recall']:>6.0%} "
            f"{s['false_feature_chunks']:>5}/{s['quiet_feature_chunks']:<3}  "
            f"{', '.join(s['quiet_features_ever_flagged']) or 'none'}"
        )
    print(
        "   (false = feature-chunks flagged where nothing moved or only negligibly; seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + ")"
    )
    per_feature = {
        label: {
            f: "".join("x" if f in c else "." for c in chunks) for f in [*SHIFTED, *NEGLIGIBLE, *UNTOUCHED]
        }
        for label, chunks in results.items()
    }
    print("\n   per feature and chunk (x = flagged; shifted features move in chunks 7-12), columns:")
    for i, label in enumerate(per_feature):
        print(f"   ({i + 1}) {label}")
    print(f"   {'feature':<12} " + " ".join(f"({i + 1})".ljust(13) for i in range(len(per_feature))))
    for f in [*SHIFTED, *NEGLIGIBLE, *UNTOUCHED]:
        print(f"   {f:<12} " + " ".join(f"{per_feature[label][f]:<13}" for label in per_feature))
    (root / "results.json").write_text(json.dumps({"summary": summary, "chunks": results}, indent=1))
    return summary


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
