"""Benchmark: a model served elsewhere on the local cloud, estimate before labels vs realized after.

The path users take (issue 16): onboard a binary classifier with a labeled reference, upload 10
inference batches whose inputs drift step by step, then their labels, all through S3 on the local
cloud (the real template on moto). Per batch it prints the suite's label-free estimate (written by
monitor_batch before any label), the realized value (evaluate_labels, after), scikit-learn's value
on the same rows (the floor: what a correct realized metric must equal) and the naive guess
"performance equals the reference". The summary is the estimate's mean absolute error against
realized, next to the naive guess's.

    python bench/byom.py [--rows 3000] [--batches 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))  # the AWS-format generator the tests use

from byom_data import csv_bytes, rows, sklearn_metrics, spec_yaml  # noqa: E402

from modelsteward import layout  # noqa: E402
from stewardtools.cli.main import main as steward  # noqa: E402
from stewardtools.localcloud.deploy import LocalCloud  # noqa: E402

MODEL = "served-elsewhere"
METRICS = ("roc_auc", "accuracy", "f1")


def _json(cloud: LocalCloud, key: str) -> Any:
    s3 = cloud.client("s3")
    return json.loads(s3.get_object(Bucket=cloud.outputs["ArtifactsBucketName"], Key=key)["Body"].read())


def _batch_ids(cloud: LocalCloud) -> dict[str, str]:
    """batch file stem -> batch id (ids carry a digest of the key)."""
    s3 = cloud.client("s3")
    listed = s3.list_objects_v2(
        Bucket=cloud.outputs["ArtifactsBucketName"], Prefix=f"reports/{MODEL}/batches/"
    )
    ids = {o["Key"].split("/")[3] for o in listed.get("Contents", [])}
    return {bid.rsplit("-", 1)[0]: bid for bid in ids}


def run(n_rows: int, batches: int) -> None:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCloud(models=[MODEL], state_dir=Path(tmp) / "cloud") as cloud,
    ):
        spec, reference = Path(tmp) / "spec.yaml", Path(tmp) / "reference.csv"
        spec.write_bytes(spec_yaml(MODEL, "binary"))
        ref_rows = rows("binary", n_rows, seed=1, start=cloud.now - dt.timedelta(days=30))
        reference.write_bytes(csv_bytes(ref_rows))
        args = ["models", "onboard", str(spec), "--reference", str(reference), "--upload-reference"]
        if steward([*args, "--stack", cloud.stack_name]) != 0:
            raise SystemExit("onboarding failed")
        cloud.wait_idle()
        naive = sklearn_metrics("binary", ref_rows)
        frames = [
            rows("binary", n_rows, seed=500 + i, start=cloud.now + dt.timedelta(hours=i), shift=0.25 * i)
            for i in range(batches)
        ]
        for i, frame in enumerate(frames):  # inference first: the estimate is made before any label
            cloud.upload(f"inference/{MODEL}/batch-{i:02d}.csv", csv_bytes(frame.drop(columns=["outcome"])))
        cloud.wait_idle()
        for i, frame in enumerate(frames):
            cloud.upload(
                f"labels/{MODEL}/labels-{i:02d}.csv", csv_bytes(frame[["id", "timestamp", "outcome"]])
            )
        cloud.wait_idle()
        ids = _batch_ids(cloud)

        print(f"{n_rows} rows per batch; x1's mean shifts by 0.25 per batch; cells: estimate / realized")
        print("batch | " + " | ".join(f"{m:^22}" for m in METRICS) + " | realized = sklearn")
        errors: dict[str, list[float]] = {m: [] for m in METRICS}
        guesses: dict[str, list[float]] = {m: [] for m in METRICS}
        worst_floor_gap = 0.0
        for i, frame in enumerate(frames):
            batch_id = ids[f"batch-{i:02d}"]
            estimated = _json(cloud, layout.estimated_performance_key(MODEL, batch_id))["overall"]["estimate"]
            realized = _json(cloud, layout.batch_realized_key(MODEL, batch_id))["metrics"]
            floor = sklearn_metrics("binary", frame)
            cells = []
            for m in METRICS:
                est = float(estimated["metrics"][m]["value"])
                real = float(realized[m])
                errors[m].append(abs(est - real))
                guesses[m].append(abs(naive[m] - real))
                worst_floor_gap = max(worst_floor_gap, abs(real - floor[m]))
                cells.append(f"{est:.4f} / {real:.4f} ({est - real:+.3f})")
            print(f"{i:>5} | " + " | ".join(cells) + f" | {'yes' if worst_floor_gap < 1e-9 else 'NO'}")
    print()
    print("mean absolute error against realized (estimate vs the naive 'same as the reference'):")
    for m in METRICS:
        est_mae, naive_mae = float(np.mean(errors[m])), float(np.mean(guesses[m]))
        ratio = est_mae / naive_mae if naive_mae else float("nan")
        print(f"  {m:<9} estimate MAE {est_mae:.4f}   naive MAE {naive_mae:.4f}   ratio {ratio:.2f}")
    print(f"  realized vs scikit-learn on the same rows: largest difference {worst_floor_gap:.2e}")
    print(f"  whole run on the local cloud: {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    run(args.rows, args.batches)


if __name__ == "__main__":
    main()
