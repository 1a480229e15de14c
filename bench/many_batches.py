"""The many-batches case: a day of 5-minute batches, each monitored as it lands, merged by check_window.

    python bench/many_batches.py [--data DIR] [--batches 288] [--rows 1000] [--evidently PY] [--nannyml PY]

Ours, in one warm process (a Lambda execution environment that stays warm at a 5-minute cadence):
the baseline built once from a 100k-row reference, then per batch what monitor_batch computes after
its download (conform, PII screen, profile, drift, multivariate, quality, report.json, report.html,
profile.json), then what check_window does at the end of the day (parse the 288 stored profiles,
merge them, drift on the merge). A warm 10k-row invocation is timed the same way. The whole-process
cold start of one batch is `make bench`'s 10k line and `make size`'s cold-start columns.

The peers have no stored statistics to merge, so a day means re-reading the day's rows: NannyML on
the whole day with one chunk per batch (its native way; a column counts as flagged when any chunk
alerts), Evidently on the whole day as one current set (it has no windows). Each is one fresh
process, as in bench/run.py. Truth is bench/data.py's: 9 drifted columns, 16 not.
"""

from __future__ import annotations

import argparse
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
    """One invocation's work after the download: ms, the stored profile JSON, the flagged columns."""
    from modelsteward.domain.report import Lineage, Timings, build_report
    from modelsteward.services.assessment import assess_batch, conform_and_screen, render_html

    t0 = time.perf_counter()
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
    render_html(report)
    profile = assessment.profile.to_json()
    ms = (time.perf_counter() - t0) * 1000
    return ms, profile, [f.name for f in assessment.drift.features if f.drifted]


def ours(files: dict[str, str], batches: int, rows: int, ten_k: str) -> dict:
    from modelsteward.domain.baseline import build_baseline
    from modelsteward.domain.drift import detect_drift
    from modelsteward.domain.profile import Profile, merge_profiles
    from modelsteward.services.assessment import conform_and_screen
    from modelsteward.spec import parse_spec

    spec = parse_spec(json.loads(Path(files["spec"]).read_text()))
    reference = pq.ParquetFile(files["reference"]).read()
    t0 = time.perf_counter()
    _, ref_table, _ = conform_and_screen(None, reference, spec, role="reference")
    baseline = build_baseline(ref_table, spec, seed=spec.seed)
    baseline_s = time.perf_counter() - t0
    day = pq.ParquetFile(files["current"]).read()
    per_batch, stored, flagged_any = [], [], set()
    for b in range(batches):
        ms, profile, flagged = _warm_batch(day.slice(b * rows, rows), baseline, spec, f"batch-{b:03d}")
        per_batch.append(ms)
        stored.append(profile)
        flagged_any.update(flagged)
    ten = pq.ParquetFile(ten_k).read()
    warm_10k = [_warm_batch(ten, baseline, spec, f"ten-k-{i}")[0] for i in range(5)]
    t1 = time.perf_counter()
    merged = merge_profiles([Profile.from_json(p) for p in stored])
    t2 = time.perf_counter()
    window = detect_drift(baseline, merged, spec.drift)
    t3 = time.perf_counter()
    return {
        "baseline_s": baseline_s,
        "per_batch_ms": per_batch,
        "warm_10k_ms": warm_10k,
        "merge_ms": (t2 - t1) * 1000,
        "window_drift_ms": (t3 - t2) * 1000,
        "window_flagged": [f.name for f in window.features if f.drifted],
        "any_batch_flagged": sorted(flagged_any),
    }


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
    print(
        f"   ours: check_window at the end of the day: parse + merge {args.batches} profiles "
        f"{r['merge_ms']:.0f} ms, drift on the merge {r['window_drift_ms']:.1f} ms -> "
        f"window {score(r['window_flagged'], truth)}; any single batch flagged: "
        f"{score(r['any_batch_flagged'], truth)}"
    )
    day_us = (total_s + r["merge_ms"] / 1000) / day_rows * 1e6
    print(f"   ours: the day costs {day_us:.2f} us of work per row (batches + window)")
    work = root / "out"
    work.mkdir(exist_ok=True)
    chunk_truth = root / "truth-chunks.json"
    chunk_truth.write_text(json.dumps({**truth, "chunk_rows": args.rows}))
    peers = {
        "nannyml": (args.nannyml, "nannyml-chunks", f"the whole day, {args.batches} chunks of {args.rows:,}"),
        "evidently": (args.evidently, "evidently", "the whole day as one current set"),
    }
    for name, (python, tool, what) in peers.items():
        if not python:
            continue
        out = work / f"{name}.json"
        argv = [
            python,
            str(WORKERS / "peers.py"),
            tool,
            files["reference"],
            files["current"],
            str(chunk_truth),
        ]
        try:
            m = measure([*argv, str(out)], out)
        except RuntimeError as exc:
            print(f"   {name}: failed ({str(exc).splitlines()[0]})")
            continue
        if tool.endswith("-chunks"):
            for label, chunks in m["extra"]["chunks"].items():
                flagged = sorted({c for chunk in chunks for c in chunk})
                alarms = sum(1 for chunk in chunks if set(chunk) - set(truth["drifted"]))
                print(
                    f"   {label}: {what}: {m['wall']:.1f} s, {m['rss_mb']:.0f} MiB, "
                    f"{m['wall'] / day_rows * 1e6:.2f} us/row; any chunk: {score(flagged, truth)}; "
                    f"chunks with a false alarm: {alarms}/{len(chunks)}"
                )
        else:
            print(
                f"   {name}: {what}: {m['wall']:.1f} s, {m['rss_mb']:.0f} MiB, "
                f"{m['wall'] / day_rows * 1e6:.2f} us/row; {score(m['flagged'], truth)}"
            )


if __name__ == "__main__":
    main()
