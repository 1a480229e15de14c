"""One function's deployment, loaded as Lambda loads it, then its real work (no AWS calls).

    PYTHONPATH=<code>:<layer>/python...:<runtime boto3> python3.12 -S lambda_smoke.py FUNCTION WORKDIR

Run by bench/size.py with ``-S`` (no site-packages: only the function's code, its layers and
the boto3 the Lambda runtime ships are importable) and a fresh TMPDIR (a cold sandbox). Imports
the handler, unpacks zipped packages as the handler does, imports the service it calls, then runs
the computation that function performs on WORKDIR's files (written by size.py): building the
baseline (create_baseline, which leaves it for the monitor functions' runs), the monitor engine
(drift, quality, report on that baseline), the label join and realized metrics, or training, the
skops round trip and scoring (train_model), or loading that champion and scoring (score_batch).
Last it imports every module the handler can reach, read from the deployment's own sources
(import_graph.py in layers/deps, standard library only). Prints one JSON line.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent.parent / "layers" / "deps"))  # after the deployment
from import_graph import handler_closure

PACKAGE = "modelsteward"

SERVICE = {
    "train_model": "train_model",
    "score_batch": "score_batch",
    "create_baseline": "create_baseline",
    "monitor_batch": "monitor_batch",
    "check_window": "check_window",
    "plan_chunks": "scale_out",
    "profile_chunk": "scale_out",
    "finish_large_batch": "scale_out",
    "evaluate_labels": "evaluate_labels",
    "handle_alarm": "handle_alarm",
    "run_audit": "run_audit",
}
CHAMPION = "champion.skops"  # written by train_model's run (bench/size.py runs it first)
BASELINE = "baseline.json"  # written by create_baseline's run (bench/size.py runs it second)
HEAVY = ("numpy", "pyarrow", "scipy", "scipy.stats", "pandas", "sklearn")


def import_all(modules: list[str]) -> dict[str, str]:
    failures = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # what the deployment lacks, with the module that needs it
            failures[name] = f"{type(exc).__name__}: {exc}"
    return failures


def _spec(work: Path) -> Any:
    from modelsteward.spec import parse_spec

    return parse_spec(json.loads((work / "spec.json").read_text()))


def _read(work: Path, name: str, spec: Any, role: str) -> Any:
    from modelsteward.domain.contract import conform
    from modelsteward.domain.ingest import read_table

    return conform(read_table((work / name).read_bytes(), name), spec, role=role)  # type: ignore[arg-type]


def baseline_and_monitor(work: Path) -> dict[str, Any]:
    """create_baseline: build the baseline (left for the monitor functions' runs), then assess."""
    from modelsteward.domain.baseline_builder import build_baseline
    from modelsteward.services.assessment import screen_pii

    spec = _spec(work)
    reference, _ = screen_pii(None, _read(work, "reference.csv", spec, "reference").table, spec)
    baseline = build_baseline(reference, spec, sources=[{"uri": "smoke"}], seed=0)
    (work / BASELINE).write_text(baseline.to_json())
    return monitor(work)


def monitor(work: Path) -> dict[str, Any]:
    """The monitor path on create_baseline's baseline: drift, quality, report, a window of two."""
    from modelsteward.domain.baseline import Baseline
    from modelsteward.domain.profile import Profile
    from modelsteward.services.assessment import assess_batch, screen_pii

    spec = _spec(work)
    baseline = Baseline.from_json((work / BASELINE).read_text())
    current = _read(work, "current.csv", spec, "reference")
    table, _ = screen_pii(None, current.table, spec)
    assessment = assess_batch(table, baseline, spec, batch_id="smoke", findings=current.findings)
    merged = Profile.from_json(assessment.profile.to_json()).merge(assessment.profile)  # a window of two
    return {
        "rows": table.num_rows,
        "drifted": sorted(f.name for f in assessment.drift.features if f.drifted),
        "merged_rows": merged.rows,
    }


def labels(work: Path) -> dict[str, Any]:
    import pandas as pd

    from modelsteward.domain.label_join import join_labels, latest_predictions, prepare_labels, realized

    spec = _spec(work)
    frame = _read(work, "current.csv", spec, "reference").table.to_pandas()
    score = frame["credit_utilization"].to_numpy()
    predictions = pd.DataFrame(
        {
            "id": frame["id"],
            "prediction": (score > 0.5).astype(int).astype(str),
            "probability_0": 1 - score,
            "probability_1": score,
            "scored_at": "2026-11-29T00:00:00Z",
        }
    )
    latest, duplicates = latest_predictions([predictions, predictions.iloc[:10]])
    label_set = prepare_labels(
        frame, id_column="id", label_column="default", timestamp_column="timestamp", classifier=True
    )
    joined = join_labels(label_set, latest, duplicates)
    metrics = realized(joined.matched, "binary", ["0", "1"])
    return {"matched": joined.counts["matched"], "roc_auc": metrics.get("roc_auc")}


def train_and_score(work: Path) -> dict[str, Any]:
    """train_model: train, the skops round trip, score; leaves the champion for score_batch's run."""
    from modelsteward.domain.model_artifact import dump_model, load_model, sha256_hex
    from modelsteward.domain.training import predict, prepare_features, train

    spec = _spec(work)
    result = train(spec, _read(work, "reference.csv", spec, "training").table.to_pandas())
    blob = dump_model(result.pipeline)
    model = load_model(blob, sha256_hex(blob))
    batch = _read(work, "current.csv", spec, "scoring").table.to_pandas()
    predictions = predict(model, prepare_features(batch, spec), result.classes)
    (work / CHAMPION).write_bytes(blob)
    meta = {"sha256": sha256_hex(blob), "classes": result.classes}
    (work / f"{CHAMPION}.json").write_text(json.dumps(meta))
    return {
        "primary_score": result.primary_score,
        "scored": len(predictions.label),
        "artifact_bytes": len(blob),
        "predictions_sha256": _digest(predictions),
    }


def _digest(predictions: Any) -> str:
    """SHA-256 of the labels and the probabilities' bytes: equal only if bit-identical."""
    import hashlib

    sha = hashlib.sha256("\x00".join(map(str, predictions.label)).encode())
    if predictions.proba is not None:
        sha.update(predictions.proba.tobytes())
    return sha.hexdigest()[:16]


def load_and_score(work: Path) -> dict[str, Any]:
    """score_batch's first batch: load the champion (verified; imports scikit-learn) and score."""
    from modelsteward.domain.model_artifact import load_model
    from modelsteward.domain.training import predict, prepare_features

    spec = _spec(work)
    meta = json.loads((work / f"{CHAMPION}.json").read_text())
    model = load_model((work / CHAMPION).read_bytes(), meta["sha256"])
    batch = _read(work, "current.csv", spec, "scoring").table.to_pandas()
    predictions = predict(model, prepare_features(batch, spec), meta["classes"])
    return {"scored": len(predictions.label), "predictions_sha256": _digest(predictions)}


WORK = {
    "train_model": train_and_score,
    "create_baseline": baseline_and_monitor,
    "score_batch": load_and_score,
    "evaluate_labels": labels,
    "handle_alarm": None,
    "run_audit": None,
}


def main() -> None:
    function, work = sys.argv[1], Path(sys.argv[2])
    started = time.perf_counter()
    app = importlib.import_module("app")
    app_s = time.perf_counter() - started
    mark, cpu = time.perf_counter(), time.process_time()
    unpacked = None
    if os.environ.get("STEWARD_PACKED_DEPS"):  # only the functions that ship packed_deps set it
        from modelsteward.packed_deps import unpack_packed_deps

        unpacked = unpack_packed_deps()
    unpack_s, unpack_cpu_s = time.perf_counter() - mark, time.process_time() - cpu
    mark = time.perf_counter()
    importlib.import_module(f"modelsteward.services.{SERVICE[function]}")
    service_s = time.perf_counter() - mark
    cold_cpu_s = time.process_time()  # CPU seconds of the whole cold start, interpreter start included
    heavy_on_import = [m for m in HEAVY if m in sys.modules]
    work_fn = WORK.get(function, monitor)
    mark = time.perf_counter()
    result = work_fn(work) if work_fn else {}
    work_s = time.perf_counter() - mark
    import modelsteward

    site = Path(modelsteward.__file__).parent.parent  # the function's code in the deployment
    ours, external = handler_closure(Path(str(app.__file__)), site, PACKAGE)
    unimportable = import_all(ours + external)
    print(
        json.dumps(
            {
                "function": function,
                "python": sys.version.split()[0],
                "app_s": app_s,
                "unpack_s": unpack_s,
                "unpacked": bool(unpacked),
                "service_s": service_s,
                "unpack_cpu_s": unpack_cpu_s,
                "cold_cpu_s": cold_cpu_s,
                "heavy_on_import": heavy_on_import,
                "work": work_fn.__name__ if work_fn else None,
                "work_s": work_s,
                "result": result,
                "reachable_modules": len(ours) + len(external),
                "package_site": str(site),
                "unimportable": unimportable,
            }
        )
    )


if __name__ == "__main__":
    main()
