"""`make bench`: this suite's monitor engine against Evidently, NannyML and a read+histogram floor.

    python bench/run.py [--sizes 10000,100000,1000000] [--runs 3] [--peer-runs-1m 3]
                        [--evidently PY] [--nannyml PY] [--data DIR]

For each size (rows x 25 columns, reference and current sets, Parquet; bench/data.py, known
truth) every tool runs in a fresh process, tools in alternation run after run (this machine is
noisy). Wall time is the whole process (interpreter start, imports, read, compute, report);
peak memory is the child's ru_maxrss from os.wait4. Verdicts are scored against the truth:
drifted features found, false alarms (untouched or negligible features flagged).

Ours is the monitor path of monitor_batch (bench/workers/steward.py): the baseline is built once
from the reference beforehand (its cost is shown apart) and loaded from JSON, as in production.
Then: per-row scaling 100k -> 1M, profile-merge cost vs number of stored profiles, the
sensitivity case (bench/sensitivity.py: modest persistent shifts over 12 chunks, recall and false
alarms of every tool), bench/estimation.py and bench/byom.py (a model served elsewhere on the
local cloud: the estimate's MAE against realized).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

WORKERS = HERE / "workers"
TOOLS = ("floor", "ours", "evidently", "nannyml")


def measure(argv: list[str], out: Path) -> dict:
    """Run one fresh process; wall seconds, peak RSS (MiB) and what it flagged."""
    out.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreters and scripts
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"{argv[1]} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.read_text())
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "flagged": result.get("flagged"), "extra": result}


def score(flagged: list[str] | None, truth: dict) -> str:
    if flagged is None:
        return "-"
    drifted = set(truth["drifted"])
    found = len(drifted & set(flagged))
    false_alarms = sorted(set(flagged) - drifted)
    negligible = len(set(false_alarms) & set(truth["negligible"]))
    return f"{found}/{len(drifted)} found, {len(false_alarms)} false ({negligible} negligible)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and size")
    parser.add_argument("--peer-runs-1m", type=int, default=3, help="runs of each peer at >= 1M rows")
    parser.add_argument("--evidently", default=".venv-bench-evidently/bin/python")
    parser.add_argument("--nannyml", default=".venv-bench-nannyml/bin/python")
    parser.add_argument("--data", default=".bench")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--skip-estimation", action="store_true")
    parser.add_argument("--skip-sensitivity", action="store_true")
    parser.add_argument("--skip-byom", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    root = Path(args.data).resolve()
    here_py = sys.executable
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; data in {root}", flush=True)

    results: dict[int, dict[str, list[dict]]] = {}
    baseline_cost: dict[int, dict] = {}
    for n in sizes:
        t0 = time.perf_counter()
        files = data.generate(root / str(n), n)
        truth = json.loads(Path(files["truth"]).read_text())
        work = root / str(n) / "out"
        work.mkdir(exist_ok=True)
        baseline = str(root / str(n) / "baseline.json")
        print(f"\n== {n:,} rows x 25 columns (data ready in {time.perf_counter() - t0:.1f} s)", flush=True)
        baseline_cost[n] = measure(
            [
                here_py,
                str(WORKERS / "steward.py"),
                "baseline",
                files["reference"],
                files["spec"],
                baseline,
                str(work / "baseline.out.json"),
            ],
            work / "baseline.out.json",
        )
        print(
            f"   baseline built once: {baseline_cost[n]['wall']:.2f} s, {baseline_cost[n]['rss_mb']:.0f} MiB",
            flush=True,
        )
        commands = {
            "floor": [here_py, str(WORKERS / "floor.py"), files["reference"], files["current"]],
            "ours": [
                here_py,
                str(WORKERS / "steward.py"),
                "monitor",
                files["current"],
                files["spec"],
                baseline,
            ],
            "evidently": [
                args.evidently,
                str(WORKERS / "peers.py"),
                "evidently",
                files["reference"],
                files["current"],
                files["truth"],
            ],
            "nannyml": [
                args.nannyml,
                str(WORKERS / "peers.py"),
                "nannyml",
                files["reference"],
                files["current"],
                files["truth"],
            ],
        }
        runs = {
            t: (args.peer_runs_1m if (t in ("evidently", "nannyml") and n >= 1_000_000) else args.runs)
            for t in tools
        }
        results[n] = {t: [] for t in tools}
        for i in range(max(runs.values())):
            for tool in tools:
                if i >= runs[tool]:
                    continue
                out = work / f"{tool}.json"
                r = measure([*commands[tool], str(out)], out)
                results[n][tool].append(r)
                print(
                    f"   run {i + 1} {tool:<9} {r['wall']:7.2f} s {r['rss_mb']:7.0f} MiB  "
                    f"{score(r['flagged'], truth)}",
                    flush=True,
                )
        results[n]["_truth"] = truth  # type: ignore[assignment]

    summary = table(results, sizes, tools)
    scaling(results, sizes)
    merge_cost(root, sizes)
    (root / "results.json").write_text(
        json.dumps(
            {
                "summary": summary,
                "baseline": {n: {k: baseline_cost[n][k] for k in ("wall", "rss_mb")} for n in sizes},
            },
            indent=1,
        )
    )
    if not args.skip_sensitivity:
        import sensitivity  # bench/sensitivity.py, next to this file

        peers = [t for t in tools if t in ("ours", "evidently", "nannyml")]
        sensitivity.run(root / "sensitivity", peers, args.evidently, args.nannyml)
    if not args.skip_estimation:
        print("\n== label-free estimation (bench/estimation.py)", flush=True)
        subprocess.run([here_py, str(HERE / "estimation.py")], check=False)  # noqa: S603
        print(
            "\n== label-free estimate by reference size, next to NannyML CBPE (bench/estimation_reference.py)"
        )
        subprocess.run(  # noqa: S603
            [here_py, str(HERE / "estimation_reference.py"), "--nannyml", args.nannyml], check=False
        )
    if not args.skip_byom:
        print(
            "\n== a model served elsewhere on the local cloud: estimate vs realized (bench/byom.py)",
            flush=True,
        )
        subprocess.run([here_py, str(HERE / "byom.py")], check=False)  # noqa: S603


def _median(rs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rs)


def table(results: dict, sizes: list[int], tools: list[str]) -> dict:
    """The summary table: medians, ratios of ours vs floor / Evidently / NannyML, verdicts."""
    print("\n== summary (median wall s of fresh processes, peak RSS MiB; ratios are the tool's / ours)")
    header = (
        f"{'rows':>9} {'tool':<10} {'runs':>4} {'wall s':>8} {'peak MiB':>9} {'x ours time':>11} "
        f"{'x ours mem':>10}  verdicts (truth: 9 drifted, 16 not)"
    )
    print(header)
    print("-" * len(header))
    summary: dict = {}
    for n in sizes:
        rs = results[n]
        truth = rs["_truth"]
        ours_t = _median(rs["ours"], "wall") if rs.get("ours") else None
        ours_m = _median(rs["ours"], "rss_mb") if rs.get("ours") else None
        for tool in tools:
            runs = rs[tool]
            if not runs:
                continue
            w, m = _median(runs, "wall"), _median(runs, "rss_mb")
            verdicts = sorted({score(r["flagged"], truth) for r in runs})
            rt = f"{w / ours_t:.1f}x" if ours_t else "-"
            rm = f"{m / ours_m:.2f}x" if ours_m else "-"
            print(
                f"{n:>9,} {tool:<10} {len(runs):>4} {w:>8.2f} {m:>9.0f} {rt:>11} {rm:>10}  "
                f"{' | '.join(verdicts)}"
            )
            summary.setdefault(n, {})[tool] = {
                "wall": w,
                "rss_mb": m,
                "runs": len(runs),
                "verdicts": verdicts,
                "walls": [round(r["wall"], 3) for r in runs],
            }
        if ours_t:
            parts = []
            for tool, label in (("floor", "floor"), ("evidently", "Evidently"), ("nannyml", "NannyML")):
                if rs.get(tool):
                    parts.append(
                        f"ours/{label}: time {ours_t / _median(rs[tool], 'wall'):.2f}, "
                        f"memory {ours_m / _median(rs[tool], 'rss_mb'):.2f}"
                    )
            print(f"{'':>9} -> " + "; ".join(parts))
            stages = rs["ours"][-1]["extra"].get("stages_ms")
            print(f"{'':>9}    ours stages (last run, ms): {stages}")
    return summary


def scaling(results: dict, sizes: list[int]) -> None:
    """Marginal cost per row between 100k and 1M (removes the fixed start-up cost)."""
    if not {100_000, 1_000_000} <= set(sizes):
        return
    print("\n== scaling 100k -> 1M rows (marginal cost per extra row, 25 columns)")
    print(f"{'tool':<10} {'us/row':>8} {'bytes/row':>10} {'fixed s (start)':>16}")
    for tool in results[100_000]:
        if tool.startswith("_") or not results[100_000][tool] or not results[1_000_000].get(tool):
            continue
        w1, w2 = _median(results[100_000][tool], "wall"), _median(results[1_000_000][tool], "wall")
        m1, m2 = _median(results[100_000][tool], "rss_mb"), _median(results[1_000_000][tool], "rss_mb")
        per_row = (w2 - w1) / 900_000
        print(
            f"{tool:<10} {per_row * 1e6:>8.2f} {(m2 - m1) * 2**20 / 900_000:>10.0f} "
            f"{w1 - per_row * 100_000:>16.2f}"
        )


def merge_cost(root: Path, sizes: list[int]) -> None:
    """Parse + merge k stored profiles, then drift on the merge: cost follows k, not the rows behind them."""
    from modelsteward.domain.baseline import Baseline
    from modelsteward.domain.drift import detect_drift
    from modelsteward.domain.profile import Profile, merge_profiles
    from modelsteward.spec import parse_spec

    print(
        "\n== profile merge (stored profile.json of one batch, k copies: "
        "parse + merge_profiles + detect_drift)"
    )
    print(
        f"{'batch rows':>10} {'profile KiB':>11} {'k':>5} {'parse ms':>9} {'merge ms':>9} "
        f"{'drift ms':>9} {'ms/profile':>10}"
    )
    for n in sizes:
        path = root / str(n) / "out" / "profile.json"
        if not path.exists():
            continue
        text = path.read_text()
        baseline = Baseline.from_json((root / str(n) / "baseline.json").read_bytes())
        spec = parse_spec(json.loads((root / str(n) / "spec.json").read_text()))
        detect_drift(baseline, merge_profiles([Profile.from_json(text)] * 2), spec.drift)  # warm-up, untimed
        for k in (10, 100, 1000):
            profiles = merged = None  # free the previous k outside the timed region
            gc.collect()
            t0 = time.perf_counter()
            profiles = [Profile.from_json(text) for _ in range(k)]
            t1 = time.perf_counter()
            merged = merge_profiles(profiles)
            t2 = time.perf_counter()
            detect_drift(baseline, merged, spec.drift)
            t3 = time.perf_counter()
            print(
                f"{n:>10,} {len(text) / 1024:>11.1f} {k:>5} {(t1 - t0) * 1e3:>9.1f} {(t2 - t1) * 1e3:>9.1f} "
                f"{(t3 - t2) * 1e3:>9.1f} {(t2 - t0) * 1e3 / k:>10.2f}"
            )


if __name__ == "__main__":
    main()
