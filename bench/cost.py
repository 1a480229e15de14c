"""Memory sizes and dollars per batch, from measured work (a Power-Tuning-style table).

    python bench/cost.py [--data DIR] [--sizes 1000,100000,1000000] [--runs 2]

AWS Lambda Power Tuning runs a function at several memory sizes and picks the one with the best
cost x time. Lambda cannot run here, so this measures what decides both on this machine, in
fresh processes: CPU seconds (user + system, which the noisy 2-core machine disturbs far less
than wall time) and peak RSS of each function's work at the documented batch sizes (1k, 100k, 1M
rows x 25 columns): monitor_batch's path (bench/workers/steward.py monitor, cold process:
imports, read, contract, PII screen, profile, drift, multivariate, quality, report files),
create_baseline's (the same worker's baseline mode) and check_window's (a day of 288 stored
profiles parsed, merged and judged). It then models each memory size as Lambda allocates CPU:
one vCPU at 1,769 MB, proportionally less below (duration = CPU seconds x 1769 / MB below 1,769;
the work is counted single-threaded, so sizes above 1,769 MB only add cost), and a size fits when
it holds 1.5x the measured peak. The pick is the cheapest size that fits at the function's largest
documented batch, the faster one on a tie (within 2%), as Power Tuning's "cost" strategy would.

Prices (us-east-1, as of 2025; pages: aws.amazon.com/lambda/pricing, /s3/pricing,
/cloudwatch/pricing, /step-functions/pricing, /sagemaker/pricing): see PRICES below.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

WORKERS = HERE / "workers"
FULL_CPU_MB = 1769  # Lambda: one vCPU-second per second at 1,769 MB
MEMORY_SIZES = (512, 1024, 1536, 1769, 2048, 3008)
HEADROOM = 1.5  # a size fits when it holds 1.5x the measured peak RSS
DAY_BATCHES = 288  # 5-minute batches

PRICES = {
    "lambda_gb_s": 0.0000166667,  # x86, first 6 billion GB-s per month
    "lambda_request": 0.20 / 1e6,
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,
    "s3_gb_month": 0.023,  # Standard, first 50 TB
    "cw_metric_month": 0.30,  # custom metric, first 10,000
    "cw_alarm_month": 0.10,  # standard-resolution metric alarm
    "cw_logs_gb": 0.50,  # log ingestion (EMF metrics arrive as log lines)
    "sfn_transition": 0.025 / 1000,  # Standard workflows
    "sagemaker_m5_xlarge_hour": 0.23,  # ml.m5.xlarge processing, the Model Monitor examples' instance
}
# S3 requests of one monitored batch: GET the upload, spec and baseline; PUT report.json,
# report.html, profile.json, constraint_violations.json, the batch-index marker and the episode
# book's audit copy; one LIST for the previous report.
S3_GETS, S3_PUTS = 3, 7
# One batch's reports and profile stay in S3 (report.html ~150 KB, profile ~200 KB, the rest small).
STORED_MB_PER_BATCH = 0.45
# Per model: ~30 custom metric series plus one per feature (docs/metrics.md), 10 alarms.
METRIC_SERIES, ALARMS = 30 + 25, 10
EMF_KB_PER_BATCH = 6
# SageMaker Model Monitor: one processing job per scheduled run (hourly at best). Its billable
# run time is not measurable here: ASSUMED 4 minutes for up to 1M rows x 25 columns (instance
# start-up is not billed; the Deequ-based analysis of a small batch takes minutes).
SAGEMAKER_MINUTES = 4.0


def run(argv: list[str]) -> dict:
    """Fresh process: CPU seconds (user + system), wall seconds, peak RSS MiB."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{argv[1:3]} failed:\n{err[-2000:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "rss": usage.ru_maxrss / 1024}


MERGE = """
import sys
from pathlib import Path
from modelsteward.domain.baseline import Baseline
from modelsteward.domain.drift import detect_drift
from modelsteward.domain.profile import Profile, merge_profiles
from modelsteward.spec import parse_spec
import json
root = Path(sys.argv[1])
text = (root / "out" / "profile.json").read_text()
baseline = Baseline.from_json((root / "baseline.json").read_bytes())
spec = parse_spec(json.loads((root / "spec.json").read_text()))
detect_drift(baseline, merge_profiles([Profile.from_json(text) for _ in range(int(sys.argv[2]))]), spec.drift)
"""


def measure(root: Path, sizes: list[int], runs: int) -> dict[str, dict[int, dict]]:
    py = sys.executable
    out: dict[str, dict[int, dict]] = {"monitor_batch": {}, "create_baseline": {}, "check_window": {}}
    for n in sizes:
        files = data.generate(root / str(n), n)
        d = Path(files["spec"]).parent
        (d / "out").mkdir(exist_ok=True)
        base = [py, str(WORKERS / "steward.py")]
        argv = {
            "create_baseline": [
                *base,
                "baseline",
                files["reference"],
                files["spec"],
                str(d / "baseline.json"),
            ],
            "monitor_batch": [*base, "monitor", files["current"], files["spec"], str(d / "baseline.json")],
            "check_window": [py, "-c", MERGE, str(d), str(DAY_BATCHES)],
        }
        for name in ("create_baseline", "monitor_batch", "check_window"):
            tail = [str(d / "out" / f"{name}.json")] if name != "check_window" else []
            rs = [run([*argv[name], *tail]) for _ in range(runs)]
            out[name][n] = {k: min(r[k] for r in rs) for k in ("cpu", "wall", "rss")}
    return out


def duration_s(cpu: float, mb: int) -> float:
    return cpu * max(1.0, FULL_CPU_MB / mb)


def lambda_cost(cpu: float, mb: int) -> float:
    return duration_s(cpu, mb) * mb / 1024 * PRICES["lambda_gb_s"] + PRICES["lambda_request"]


def pick(cpu: float, rss: float) -> int:
    fits = [mb for mb in MEMORY_SIZES if mb >= HEADROOM * rss]
    if not fits:
        return MEMORY_SIZES[-1]
    cheapest = min(lambda_cost(cpu, mb) for mb in fits)
    near = [mb for mb in fits if lambda_cost(cpu, mb) <= cheapest * 1.02]
    return min(near, key=lambda mb: (duration_s(cpu, mb), mb))


def template_memory() -> dict[str, int]:
    import re

    text = (HERE.parent / "template.yaml").read_text()
    found: dict[str, int] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^  ([A-Za-z]+)Function:\s*$", line)
        if m:
            current = m.group(1)
        m = re.match(r"^      MemorySize: (\d+)", line)
        if m and current:
            found[current] = int(m.group(1))
    return found


NAMES = {"monitor_batch": "MonitorBatch", "create_baseline": "CreateBaseline", "check_window": "CheckWindow"}


def report(measured: dict[str, dict[int, dict]]) -> dict[str, int]:
    template = template_memory()
    picks: dict[str, int] = {}
    print("\n== memory sizes (Power-Tuning style: modelled duration and cost per invocation at each size)")
    header = f"{'function':<16} {'rows':>9} {'cpu s':>6} {'peak MiB':>8}  " + "  ".join(
        f"{mb:>5} MB: s / $" for mb in MEMORY_SIZES
    )
    print(header)
    for name, by_size in measured.items():
        for n, m in sorted(by_size.items()):
            cells = []
            for mb in MEMORY_SIZES:
                mark = " " if mb >= HEADROOM * m["rss"] else "x"
                cells.append(
                    f"{mark}{duration_s(m['cpu'], mb):>5.2f} {lambda_cost(m['cpu'], mb) * 1e6:>6.1f}u"
                )
            print(
                f"{name:<16} {n:>9,} {m['cpu']:>6.2f} {m['rss']:>8.0f}  "
                + "  ".join(f"{c:>15}" for c in cells)
            )
        largest = by_size[max(by_size)]
        picks[name] = pick(largest["cpu"], largest["rss"])
        now = template.get(NAMES[name])
        print(
            f"{'':<16} -> pick {picks[name]} MB (largest documented batch, {max(by_size):,} rows); "
            f"template.yaml: {now} MB {'(matches)' if now == picks[name] else '(differs)'}"
        )
    print("   (u = micro-dollars per invocation incl. the request; x = the size does not hold 1.5x the peak)")
    return picks


def dollars(measured: dict[str, dict[int, dict]], picks: dict[str, int]) -> None:
    print("\n== dollars per monitored batch (us-east-1 list prices, as of 2025)")
    mb = picks["monitor_batch"]
    print(
        f"{'rows':>9} {'GB-s':>6} {'lambda $':>10} {'s3 $':>9} {'logs $':>9} {'= per batch':>12} "
        f"{'month hourly':>13} {'month 5-min':>12} {'SageMaker month hourly':>23}"
    )
    sm_run = SAGEMAKER_MINUTES / 60 * PRICES["sagemaker_m5_xlarge_hour"]
    fixed_month = METRIC_SERIES * PRICES["cw_metric_month"] + ALARMS * PRICES["cw_alarm_month"]
    for n, m in sorted(measured["monitor_batch"].items()):
        lam = lambda_cost(m["cpu"], mb)
        s3 = (
            S3_GETS * PRICES["s3_get"]
            + S3_PUTS * PRICES["s3_put"]
            + STORED_MB_PER_BATCH / 1024 * PRICES["s3_gb_month"]
        )
        logs = EMF_KB_PER_BATCH / 2**20 * PRICES["cw_logs_gb"]
        per = lam + s3 + logs
        gb_s = duration_s(m["cpu"], mb) * mb / 1024
        print(
            f"{n:>9,} {gb_s:>6.2f} {lam:>10.6f} {s3:>9.6f} {logs:>9.7f} {per:>12.6f} {per * 720:>13.2f} "
            f"{per * 8640:>12.2f} {sm_run * 720:>23.2f}"
        )
    print(
        f"   per model and month on top: {METRIC_SERIES} metric series x ${PRICES['cw_metric_month']:.2f} + "
        f"{ALARMS} alarms x ${PRICES['cw_alarm_month']:.2f} = ${fixed_month:.2f} (SageMaker Model Monitor "
        f"publishes its own CloudWatch metrics and alarms too); SageMaker: {SAGEMAKER_MINUTES:g} billable "
        f"minutes (ASSUMED) of ml.m5.xlarge at ${PRICES['sagemaker_m5_xlarge_hour']}/h "
        f"= ${sm_run:.4f} per run"
    )
    # the Step Functions path: rows per day through plan_chunks -> profile_chunk x chunks -> finish
    per_row_cpu = (measured["monitor_batch"][max(measured["monitor_batch"])]["cpu"]) / max(
        measured["monitor_batch"]
    )
    print("\n== a day through the Step Functions path (Distributed Map of profile_chunk, 1M-row chunks)")
    for rows in (100_000_000, 1_000_000_000):
        chunks = rows // 1_000_000
        lam = chunks * lambda_cost(per_row_cpu * 1_000_000, mb)
        sfn = (6 + 3 * chunks) * PRICES["sfn_transition"]
        s3 = chunks * (2 * PRICES["s3_get"] + PRICES["s3_put"])
        print(
            f"   {rows:>13,} rows/day: {chunks:,} chunks; Lambda ${lam:.4f} + Step Functions ${sfn:.4f} "
            f"+ S3 ${s3:.4f} = ${lam + sfn + s3:.3f} per day; SageMaker hourly: 24 jobs = ${24 * sm_run:.2f} "
            "per day (if 4 minutes covered that volume)"
        )
    print(
        "   (chunk work taken as the 1M-row monitor run above, so each chunk also pays its cold start: "
        "an upper bound)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=".bench")
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument(
        "--runs", type=int, default=2, help="fresh processes per measurement (the least CPU counts)"
    )
    parser.add_argument(
        "--json",
        default="",
        help="also write the measurements and picks here (bench/measured/cost.json is the committed "
        "table tests/infrastructure/test_memory_sizes.py holds template.yaml to)",
    )
    args = parser.parse_args()
    measured = measure(Path(args.data).resolve(), [int(s) for s in args.sizes.split(",")], args.runs)
    picks = report(measured)
    dollars(measured, picks)
    if args.json:
        record = {
            "command": "python bench/cost.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, python {sys.version.split()[0]}",
            "measured": measured,
            "picks": picks,
        }
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
