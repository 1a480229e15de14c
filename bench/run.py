"""`make bench`: this suite against Evidently, NannyML and a read+histogram floor.

    python bench/run.py [--sizes 10000,100000,1000000] [--runs 3] [--peer-runs-1m 3]
                        [--wide-rows 400000] [--wide-peer-rows 100000] [--skip-wide] [--skip-many]
                        [--evidently PY] [--nannyml PY] [--data DIR]

For each size (rows x 25 columns, reference and current sets, Parquet; bench/data.py, known
truth) every tool runs in a fresh process, tools in alternation run after run (this machine is
noisy). Wall time is the whole process (interpreter start, imports, read, compute, report);
peak memory is the child's ru_maxrss from os.wait4 (the data are generated in a process of their
own: ru_maxrss survives exec, so a child would report this runner's peak were it higher).
Verdicts are scored against the truth: drifted features found, false alarms (untouched or
negligible features flagged).

Ours twice: ``check`` is `steward check --reference REF --current CUR --out DIR`, the command a
user types (the baseline is built from the reference in the same process, so it reads both files
like the floor and the peers); ``monitor`` is the monitor path of monitor_batch
(bench/workers/steward.py), whose baseline is built once from the reference beforehand (its cost
is shown apart) and loaded from JSON, as in production.
Then: the wide case (200 columns: ours and the floor at --wide-rows, the peers at --wide-peer-rows),
marginal cost per row (100k -> 1M) and per column (25 -> 200), profile-merge cost vs number of
stored profiles, the many-batches case (bench/many_batches.py: a day of 5-minute batches merged by
check_window), the sensitivity case (bench/sensitivity.py: modest persistent shifts over 12
chunks, recall and false alarms of every tool), bench/estimation.py and bench/byom.py (a model
served elsewhere on the local cloud: the estimate's MAE against realized).
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
sys.path.insert(0, str(HERE))  # bench/sensitivity.py, imported where it runs

WORKERS = HERE / "workers"
TOOLS = ("floor", "check", "monitor", "evidently", "nannyml")
PEERS = ("evidently", "nannyml")
OURS = ("check", "monitor")
WIDE_BLOCKS = 8  # 8 x 25 = 200 columns
TARGET_TIME, TARGET_MEMORY = 2.0, 1.2  # steward check vs the floor (issue 21)


def steward_cli() -> str:
    """The `steward` console script next to this interpreter (what a user types)."""
    return str(Path(sys.executable).with_name("steward"))


def compile_bytecode() -> None:
    """Bytecode for the suite's own packages, as an installed package has it (pip compiles on
    install) and numpy or pyarrow have it here: an editable checkout under PYTHONDONTWRITEBYTECODE
    would compile every module at every start (~60 ms CPU per `steward check`), a cost no user pays."""
    import compileall

    root = HERE.parent
    for package in (root / "layers" / "steward" / "modelsteward", root / "tools" / "stewardtools"):
        compileall.compile_dir(package, quiet=1)
    print(
        f"bytecode compiled for modelsteward and stewardtools (PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} in this environment)",
        flush=True,
    )


def generate_apart(directory: Path, n: int, blocks: int = 1) -> dict[str, str]:
    """data.generate in a child process, so this runner stays smaller than what it measures."""
    code = (
        "import json, pathlib, sys, data; a = sys.argv; "
        "print(json.dumps(data.generate(pathlib.Path(a[1]), int(a[2]), blocks=int(a[3]))))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code, str(directory), str(n), str(blocks)],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def check_flagged(report_dir: Path, out: Path) -> None:
    """What `steward check` flagged, from its report.json, in the shape the other workers write."""
    from modelsteward.domain.report import BatchReport

    report = BatchReport.from_json((report_dir / "report.json").read_bytes())
    flagged = [f.name for f in report.features if f.drifted]
    out.write_text(json.dumps({"flagged": flagged, "stages_ms": report.timings.stages_ms}))


def measure(argv: list[str], out: Path, *, report_dir: Path | None = None) -> dict:
    """Run one fresh process; wall seconds, peak RSS (MiB) and what it flagged.

    With ``report_dir`` the process is `steward check` (exit 1 means drift was found, not failure)."""
    out.unlink(missing_ok=True)
    if report_dir is not None:
        (report_dir / "report.json").unlink(missing_ok=True)
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
    if report_dir is not None and proc.returncode in (0, 1) and (report_dir / "report.json").exists():
        check_flagged(report_dir, out)
        proc.returncode = 0
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"{argv[1]} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.read_text())
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,  # every thread's: what a shared machine disturbs least
        "rss_mb": usage.ru_maxrss / 1024,
        "flagged": result.get("flagged"),
        "extra": result,
    }


def score(flagged: list[str] | None, truth: dict) -> str:
    if flagged is None:
        return "-"
    drifted = set(truth["drifted"])
    found = len(drifted & set(flagged))
    false_alarms = sorted(set(flagged) - drifted)
    negligible = len(set(false_alarms) & set(truth["negligible"]))
    return f"{found}/{len(drifted)} found, {len(false_alarms)} false ({negligible} negligible)"


def commands(
    files: dict[str, str], work: Path, baseline: str, args: argparse.Namespace
) -> dict[str, list[str]]:
    here_py = sys.executable
    peer = {"evidently": args.evidently, "nannyml": args.nannyml}
    cmds = {
        "floor": [here_py, str(WORKERS / "floor.py"), files["reference"], files["current"]],
        "check": [
            steward_cli(),
            "check",
            "--reference",
            files["reference"],
            "--current",
            files["current"],
            "--out",
            str(work / "check"),
        ],
        "monitor": [
            here_py,
            str(WORKERS / "steward.py"),
            "monitor",
            files["current"],
            files["spec"],
            baseline,
        ],
    }
    for tool in PEERS:
        cmds[tool] = [
            peer[tool],
            str(WORKERS / "peers.py"),
            tool,
            files["reference"],
            files["current"],
            files["truth"],
        ]
    return cmds


def run_case(
    label: str, files: dict[str, str], tools: list[str], runs: dict[str, int], args: argparse.Namespace
) -> tuple[dict[str, list[dict]], dict | None]:
    """Every tool on one pair of files, in alternation; the monitor's baseline is built first."""
    truth = json.loads(Path(files["truth"]).read_text())
    root = Path(files["truth"]).parent
    work = root / "out"
    work.mkdir(exist_ok=True)
    (work / "check").mkdir(exist_ok=True)
    baseline = str(root / "baseline.json")
    print(f"\n== {label}", flush=True)
    cost = None
    if "monitor" in tools:
        argv = [
            sys.executable,
            str(WORKERS / "steward.py"),
            "baseline",
            files["reference"],
            files["spec"],
            baseline,
        ]
        cost = measure([*argv, str(work / "baseline.out.json")], work / "baseline.out.json")
        print(f"   baseline built once: {cost['wall']:.2f} s, {cost['rss_mb']:.0f} MiB", flush=True)
    cmds = commands(files, work, baseline, args)
    results: dict[str, list[dict]] = {t: [] for t in tools}
    for i in range(max(runs.get(t, 0) for t in tools)):
        for tool in tools:
            if i >= runs.get(tool, 0):
                continue
            out = work / f"{tool}.json"
            r = measure(
                [*cmds[tool], str(out)] if tool != "check" else cmds[tool],
                out,
                report_dir=work / "check" if tool == "check" else None,
            )
            results[tool].append(r)
            print(
                f"   run {i + 1} {tool:<9} {r['wall']:7.2f} s {r['cpu']:6.2f} s CPU {r['rss_mb']:7.0f} MiB  "
                f"{score(r['flagged'], truth)}",
                flush=True,
            )
    results["_truth"] = truth  # type: ignore[assignment]
    return results, cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and size")
    parser.add_argument("--peer-runs-1m", type=int, default=3, help="runs of each peer at >= 1M rows")
    parser.add_argument(
        "--wide-rows",
        type=int,
        default=400_000,
        help="rows of the 200-column case (ours, floor; 1M x 200 is over max_object_bytes)",
    )
    parser.add_argument(
        "--wide-peer-rows", type=int, default=100_000, help="rows of the 200-column case for all"
    )
    parser.add_argument("--wide-runs", type=int, default=2)
    parser.add_argument("--evidently", default=".venv-bench-evidently/bin/python")
    parser.add_argument("--nannyml", default=".venv-bench-nannyml/bin/python")
    parser.add_argument("--data", default=".bench")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--skip-wide", action="store_true")
    parser.add_argument("--skip-many", action="store_true")
    parser.add_argument("--skip-estimation", action="store_true")
    parser.add_argument("--skip-sensitivity", action="store_true")
    parser.add_argument("--skip-byom", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    root = Path(args.data).resolve()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; data in {root}", flush=True)
    compile_bytecode()

    results: dict[int, dict[str, list[dict]]] = {}
    baseline_cost: dict[int, dict] = {}
    for n in sizes:
        t0 = time.perf_counter()
        files = generate_apart(root / str(n), n)
        runs = {t: (args.peer_runs_1m if (t in PEERS and n >= 1_000_000) else args.runs) for t in tools}
        label = f"{n:,} rows x 25 columns (data ready in {time.perf_counter() - t0:.1f} s)"
        results[n], cost = run_case(label, files, tools, runs, args)
        if cost:
            baseline_cost[n] = cost

    summary = table(results, sizes, tools)
    wide = {} if args.skip_wide else wide_case(root, tools, args)
    scaling(results, sizes, wide)
    merge_cost(root, sizes)
    (root / "results.json").write_text(
        json.dumps(
            {
                "summary": summary,
                "wide": {k: _medians(v) for k, v in wide.items()},
                "baseline": {n: {k: baseline_cost[n][k] for k in ("wall", "rss_mb")} for n in baseline_cost},
            },
            indent=1,
        )
    )
    if not args.skip_many:
        print("\n== many batches (bench/many_batches.py)", flush=True)
        many = [sys.executable, str(HERE / "many_batches.py"), "--data", str(root / "many")]
        peers = [f"--{t}={getattr(args, t)}" for t in PEERS if t in tools]
        subprocess.run([*many, *peers], check=False)  # noqa: S603
    if not args.skip_sensitivity:
        import sensitivity  # bench/sensitivity.py, next to this file

        peers_s = (["ours"] if set(OURS) & set(tools) else []) + [t for t in tools if t in PEERS]
        sensitivity.run(root / "sensitivity", peers_s, args.evidently, args.nannyml)
    if not args.skip_estimation:
        print("\n== label-free estimation (bench/estimation.py)", flush=True)
        subprocess.run([sys.executable, str(HERE / "estimation.py")], check=False)  # noqa: S603
        print(
            "\n== label-free estimate by reference size, next to NannyML CBPE (bench/estimation_reference.py)"
        )
        subprocess.run(  # noqa: S603
            [sys.executable, str(HERE / "estimation_reference.py"), "--nannyml", args.nannyml], check=False
        )
    if not args.skip_byom:
        print(
            "\n== a model served elsewhere on the local cloud: estimate vs realized (bench/byom.py)",
            flush=True,
        )
        subprocess.run([sys.executable, str(HERE / "byom.py")], check=False)  # noqa: S603


def wide_case(root: Path, tools: list[str], args: argparse.Namespace) -> dict[str, dict[str, list[dict]]]:
    """200 columns: ours and the floor at --wide-rows; everyone at --wide-peer-rows (the peers take
    minutes per run at a million rows of 200 columns on this machine)."""
    out: dict[str, dict[str, list[dict]]] = {}
    cases = [(args.wide_peer_rows, tools), (args.wide_rows, [t for t in tools if t not in PEERS])]
    for n, these in cases:
        if n <= 0 or not these or f"{n}x200" in out:
            continue
        t0 = time.perf_counter()
        files = generate_apart(root / f"wide-{n}", n, blocks=WIDE_BLOCKS)
        label = (
            f"wide: {n:,} rows x {25 * WIDE_BLOCKS} columns (data ready in {time.perf_counter() - t0:.1f} s)"
        )
        runs = {t: (1 if t in PEERS else args.wide_runs) for t in these}
        out[f"{n}x200"], _ = run_case(label, files, these, runs, args)
        ratios(out[f"{n}x200"], f"{n:,} x 200")
    return out


def _medians(rs: dict[str, list[dict]]) -> dict:
    return {
        t: {"wall": _median(v, "wall"), "rss_mb": _median(v, "rss_mb")}
        for t, v in rs.items()
        if t[0] != "_" and v
    }


def ratios(rs: dict[str, list[dict]], label: str) -> None:
    """steward check against the floor, with the issue's targets (2x time, 1.2x memory)."""
    if not (rs.get("check") and rs.get("floor")):
        return
    t = _median(rs["check"], "wall") / _median(rs["floor"], "wall")
    m = _median(rs["check"], "rss_mb") / _median(rs["floor"], "rss_mb")
    verdict_t = "holds" if t <= TARGET_TIME else "misses"
    verdict_m = "holds" if m <= TARGET_MEMORY else "misses"
    cpu = _median(rs["check"], "cpu") / _median(rs["floor"], "cpu")
    print(
        f"{'':>9} -> {label}: steward check / floor: time {t:.2f}x "
        f"(target <= {TARGET_TIME:g}x: {verdict_t}), "
        f"memory {m:.2f}x (target <= {TARGET_MEMORY:g}x: {verdict_m}); CPU time {cpu:.2f}x"
    )


def _median(rs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rs)


def table(results: dict, sizes: list[int], tools: list[str]) -> dict:
    """The summary table: medians, each tool against steward check, check against the floor, verdicts."""
    print(
        "\n== summary (median wall s of fresh processes, peak RSS MiB; "
        "ratios are the tool's / steward check's)"
    )
    header = (
        f"{'rows':>9} {'tool':<10} {'runs':>4} {'wall s':>8} {'peak MiB':>9} {'x check time':>12} "
        f"{'x check mem':>11}  verdicts (truth: 9 drifted, 16 not)"
    )
    print(header)
    print("-" * len(header))
    summary: dict = {}
    for n in sizes:
        rs = results[n]
        truth = rs["_truth"]
        ref_t = _median(rs["check"], "wall") if rs.get("check") else None
        ref_m = _median(rs["check"], "rss_mb") if rs.get("check") else None
        for tool in tools:
            runs = rs[tool]
            if not runs:
                continue
            w, m = _median(runs, "wall"), _median(runs, "rss_mb")
            verdicts = sorted({score(r["flagged"], truth) for r in runs})
            rt = f"{w / ref_t:.1f}x" if ref_t else "-"
            rm = f"{m / ref_m:.2f}x" if ref_m else "-"
            print(
                f"{n:>9,} {tool:<10} {len(runs):>4} {w:>8.2f} {m:>9.0f} {rt:>12} {rm:>11}  "
                f"{' | '.join(verdicts)}"
            )
            summary.setdefault(n, {})[tool] = {
                "wall": w,
                "rss_mb": m,
                "runs": len(runs),
                "verdicts": verdicts,
                "walls": [round(r["wall"], 3) for r in runs],
            }
        ratios(rs, f"{n:,} x 25")
        for tool in OURS:
            if rs.get(tool):
                print(f"{'':>9}    {tool} stages (last run, ms): {rs[tool][-1]['extra'].get('stages_ms')}")
    return summary


def scaling(results: dict, sizes: list[int], wide: dict) -> None:
    """Marginal cost per row (100k -> 1M rows, 25 columns) and per column (25 -> 200 columns)."""
    print("\n== marginal cost: per extra row (100k -> 1M rows x 25 columns), per extra column (25 -> 200)")
    print(
        f"{'tool':<10} {'us/row':>8} {'bytes/row':>10} {'fixed s':>8}   "
        f"per column: {'rows':>9} {'ms/col':>8} {'MiB/col':>8}"
    )
    tools = [t for t in TOOLS if any(results.get(n, {}).get(t) for n in sizes)]
    for tool in tools:
        row = f"{tool:<10}"
        if {100_000, 1_000_000} <= set(sizes) and results[100_000].get(tool) and results[1_000_000].get(tool):
            w1, w2 = _median(results[100_000][tool], "wall"), _median(results[1_000_000][tool], "wall")
            m1, m2 = _median(results[100_000][tool], "rss_mb"), _median(results[1_000_000][tool], "rss_mb")
            per_row = (w2 - w1) / 900_000
            row += (
                f" {per_row * 1e6:>8.2f} {(m2 - m1) * 2**20 / 900_000:>10.0f} {w1 - per_row * 100_000:>8.2f}"
            )
        else:
            row += f" {'-':>8} {'-':>10} {'-':>8}"
        cols = []
        for key, rs in wide.items():
            n = int(key.split("x")[0])
            if rs.get(tool) and results.get(n, {}).get(tool):
                dw = _median(rs[tool], "wall") - _median(results[n][tool], "wall")
                dm = _median(rs[tool], "rss_mb") - _median(results[n][tool], "rss_mb")
                cols.append(f"{n:>9,} {dw * 1000 / 175:>8.1f} {dm / 175:>8.2f}")
        print(row + ("   per column: " + " | ".join(cols) if cols else ""))


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
