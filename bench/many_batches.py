"""The many-batches case: a day of 5-minute batches, each monitored as it lands, merged by check_window.

    python bench/many_batches.py [--data DIR] [--batches 288] [--rows 1000] [--evidently PY] [--nannyml PY]

Ours, in one warm process (a Lambda execution environment that stays warm at a 5-minute cadence):
the baseline built once from a 100k-row reference, then per batch what monitor_batch computes after
its download (conform, PII screen, profile, drift, multivariate, quality, report.json, report.html,
profile.json), then what check_window does at the end of the day (parse the 288 stored profiles,
merge them, drift on the merge). A warm 10k-row invocation is timed the same way. Times are CPU
(process_time), which a shared machine disturbs far less than the wall clock. The whole-process
cold start of one batch is `make bench`'s 10k line and `make size`'s cold-start columns.

Scaling: check_window over a quarter, a half and the whole day (k stored profiles), and the
peers on a quarter and the whole day's rows; the table prints each one's cost per extra batch.
The peers have no stored statistics to merge, so a window means re-reading its rows: NannyML with
one chunk per batch (its native way; a column counts as flagged when any chunk alerts; both of its
configurations run in one process, so they share one time), Evidently on the window as one current
set (it has no windows). Each is one fresh process, as in bench/run.py (CPU of the whole process:
imports included). Truth is bench/data.py's: 9 drifted columns, 16 not.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
from run import WORKERS, measure, score  # noqa: E402

REFERENCE_ROWS = 100_000


def _warm_batch(table, baseline, spec, batch_id: str) -> tuple[float, str, list[str]]:
    """One invocation's work after the download: CPU ms, the stored profile JSON, the flagged columns.

    CPU time (process_time: every thread of this process), not wall time: on a shared machine the
    wall clock of a 100 ms invocation measures the neighbours."""
    from modelsteward.domain.report import Lineage, Timings, build_report
    from modelsteward.reporting.batch import render_batch_report
    from modelsteward.services.assessment import assess_batch, conform_and_screen

    t0 = time.process_time()
    conformed, screened, pii = conform_and_screen(None, table, spec, role="reference")
    assessment = assess_batch(screened, baseline, spec, batch_id=batch_id, findings=conformed.findings)
    report = build_report(
        model=spec.name,
        model_version=None,
        batch_id=batch_id,
        source={"uri": f"s3://bench/{batch_id}", "size": 0},
        created_at="2026-01-01T00:00:00+00:00",
        rows=screened.num_rows,
        drift=assessment.drift,
        multivariate=assessment.multivariate,
        quality=assessment.quality,
        pii=pii,
        findings=conformed.findings,
        extra_columns=conformed.extra_columns,
        timings=Timings(processing_ms=0.0, peak_memory_mb=0.0, stages_ms=assessment.stages_ms),
        lineage=Lineage(inputs=[], baseline={}, spec={}),
        time_range=(None, None),
    )
    report.to_json(indent=2)
    render_batch_report(report)
    profile = assessment.profile.to_json()
    ms = (time.process_time() - t0) * 1000
    return ms, profile, [f.name for f in assessment.drift.features if f.drifted]


def ours(files: dict[str, str], batches: int, rows: int, ten_k: str) -> dict:
    from modelsteward.domain.baseline_builder import build_baseline
    from modelsteward.domain.drift import detect_drift
    from modelsteward.domain.profile import Profile, merge_profiles
    from modelsteward.services.assessment import conform_and_screen
    from modelsteward.spec import parse_spec

    spec = parse_spec(json.loads(Path(files["spec"]).read_text()))
    reference = pq.ParquetFile(files["reference"]).read()
    t0 = time.process_time()
    _, ref_table, _ = conform_and_screen(None, reference, spec, role="reference")
    baseline = build_baseline(ref_table, spec, seed=spec.seed)
    baseline_s = time.process_time() - t0
    day = pq.ParquetFile(files["current"]).read()
    per_batch, stored, flagged_any = [], [], set()
    for b in range(batches):
        ms, profile, flagged = _warm_batch(day.slice(b * rows, rows), baseline, spec, f"batch-{b:03d}")
        per_batch.append(ms)
        stored.append(profile)
        flagged_any.update(flagged)
    ten = pq.ParquetFile(ten_k).read()
    warm_10k = [_warm_batch(ten, baseline, spec, f"ten-k-{i}")[0] for i in range(5)]
    windows = {}
    for k in windows_of(batches):  # check_window over the first k stored profiles
        gc.collect()
        t1 = time.process_time()
        merged = merge_profiles([Profile.from_json(p) for p in stored[:k]])
        t2 = time.process_time()
        window = detect_drift(baseline, merged, spec.drift)
        t3 = time.process_time()
        windows[k] = {
            "merge_ms": (t2 - t1) * 1000,
            "drift_ms": (t3 - t2) * 1000,
            "flagged": [f.name for f in window.features if f.drifted],
        }
    return {
        "baseline_s": baseline_s,
        "per_batch_ms": per_batch,
        "warm_10k_ms": warm_10k,
        "windows": windows,
        "any_batch_flagged": sorted(flagged_any),
    }


def windows_of(batches: int) -> list[int]:
    """A quarter, a half and the whole of the day's batches: how a window's cost grows with its size."""
    return sorted({max(1, batches // 4), max(1, batches // 2), batches})


def marginal(points: dict[int, float]) -> float:
    """Least-squares slope of cost against the number of batches (the cost of one more batch)."""
    ks = list(points)
    if len(ks) < 2:
        return float("nan")
    mk, mv = statistics.fmean(ks), statistics.fmean(points.values())
    return sum((k - mk) * (v - mv) for k, v in points.items()) / sum((k - mk) ** 2 for k in ks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".bench/many")
    parser.add_argument("--batches", type=int, default=288, help="5-minute batches in a day")
    parser.add_argument("--rows", type=int, default=1000, help="rows per batch")
    parser.add_argument("--evidently", default="")
    parser.add_argument("--nannyml", default="")
    args = parser.parse_args()
    root = Path(args.data).resolve()
    root.mkdir(parents=True, exist_ok=True)
    day_rows = args.batches * args.rows
    files = data.generate(root / "ref", REFERENCE_ROWS)  # reference.parquet is the 100k reference
    day = data.generate(root / f"day-{day_rows}", day_rows)  # current.parquet is the whole day
    files = {**files, "current": day["current"]}
    ten_k = data.generate(root.parent / "10000", 10_000)["current"]
    truth = json.loads(Path(files["truth"]).read_text())
    print(
        f"a day of {args.batches} batches x {args.rows:,} rows ({day_rows:,} rows) against a "
        f"{REFERENCE_ROWS:,}-row reference, 25 columns",
        flush=True,
    )
    r = ours(files, args.batches, args.rows, ten_k)
    pb = sorted(r["per_batch_ms"])
    p95 = pb[int(0.95 * (len(pb) - 1))]
    total_s = sum(pb) / 1000
    print(f"   ours: baseline built once {r['baseline_s']:.2f} s (in a warm process)")
    print(
        f"   ours: per batch (warm invocation's work, {args.rows:,} rows): "
        f"median {statistics.median(pb):.1f} ms, "
        f"p95 {p95:.1f} ms; the day's {args.batches} batches {total_s:.1f} s of work"
    )
    print(
        f"   ours: warm 10,000-row invocation: median {statistics.median(r['warm_10k_ms']):.1f} ms "
        f"(runs {', '.join(f'{v:.0f}' for v in r['warm_10k_ms'])} ms)"
    )
    windows = r["windows"]
    day = windows[args.batches]
    print(
        f"   ours: check_window at the end of the day: parse + merge {args.batches} profiles "
        f"{day['merge_ms']:.0f} ms, drift on the merge {day['drift_ms']:.1f} ms -> "
        f"window {score(day['flagged'], truth)}; any single batch flagged: "
        f"{score(r['any_batch_flagged'], truth)}"
    )
    day_us = (total_s + day["merge_ms"] / 1000) / day_rows * 1e6
    print(f"   ours: the day costs {day_us:.2f} us of work per row (batches + window)")
    # the window's cost against its size: ours merges k stored profiles, a peer re-reads k batches' rows
    scaling: dict[str, dict[int, float]] = {
        "ours: check_window (parse + merge + drift), CPU ms": {
            k: w["merge_ms"] + w["drift_ms"] for k, w in windows.items()
        },
    }
    verdicts: dict[str, dict[int | str, str]] = {
        "ours: check_window (parse + merge + drift), CPU ms": {
            k: score(w["flagged"], truth) for k, w in windows.items()
        }
    }
    work = root / "out"
    work.mkdir(exist_ok=True)
    chunk_truth = root / "truth-chunks.json"
    chunk_truth.write_text(json.dumps({**truth, "chunk_rows": args.rows}))
    peers = {
        "nannyml": (args.nannyml, "nannyml-chunks", "one chunk per batch"),
        "evidently": (args.evidently, "evidently", "the window as one current set"),
    }
    whole_day = pq.ParquetFile(files["current"]).read()
    for name, (python, tool, what) in peers.items():
        if not python:
            continue
        for k in (min(windows), max(windows)):  # two window sizes: the marginal cost of a batch
            current = root / f"window-{k}.parquet"
            if not current.exists():
                pq.write_table(whole_day.slice(0, k * args.rows), current)
            out = work / f"{name}-{k}.json"
            argv = [
                python,
                str(WORKERS / "peers.py"),
                tool,
                files["reference"],
                str(current),
                str(chunk_truth),
            ]
            try:
                m = measure([*argv, str(out)], out)
            except RuntimeError as exc:
                print(f"   {name} ({k} batches): failed ({str(exc).splitlines()[0]})")
                continue
            if tool.endswith("-chunks"):
                # one process runs both of NannyML's configurations: one time, a verdict for each
                key = f"NannyML, both configurations in one process: {what}, CPU s"
                scaling.setdefault(key, {})[k] = m["cpu"]
                for label, chunks in m["extra"]["chunks"].items():
                    flagged = sorted({c for chunk in chunks for c in chunk})
                    alarms = sum(1 for chunk in chunks if set(chunk) - set(truth["drifted"]))
                    verdicts.setdefault(key, {})[f"{k}, {label}"] = (
                        f"any chunk {score(flagged, truth)}; {alarms}/{len(chunks)} chunks with a false alarm"
                    )
            else:
                key = f"{name}: {what}, CPU s"
                scaling.setdefault(key, {})[k] = m["cpu"]
                verdicts.setdefault(key, {})[k] = score(m["flagged"], truth)
    print(
        f"\n== many batches: a window's cost against its size ({args.rows:,}-row batches; ours from the "
        "stored profiles, the peers from the window's rows, one fresh process each)"
    )
    ks = windows_of(args.batches)
    header = f"{'':<70}" + "".join(f"{f'k={k}':>10}" for k in ks) + f"{'per batch':>12}"
    print(header)
    for key, points in scaling.items():
        unit = 1.0 if key.endswith("ms") else 1000.0  # per batch in ms either way
        cells = "".join(f"{points[k]:>10.2f}" if k in points else f"{'-':>10}" for k in ks)
        print(f"{key:<70}{cells}{marginal(points) * unit:>9.1f} ms")
        for k, v in verdicts.get(key, {}).items():
            print(f"{'':<6}k={k}: {v}")
    print(
        "   (ours: each batch was also monitored once as it landed, the per-batch line above; the window "
        "itself reads no rows. The peers cannot merge per-batch results into a window's statistics: a "
        "window means keeping its raw rows and reading them again. NannyML's chunked run is the closest "
        "to monitoring batch by batch; Evidently has no windows, so the window is one current set)"
    )


if __name__ == "__main__":
    main()
