"""Benchmark: the label-free estimate against realized values by reference size, next to NannyML's CBPE.

The example credit-default model (the spec's HistGradientBoostingClassifier, trained by
``domain.training`` on 6,000 rows) gets a labeled reference of 500, 1,500, 5,000 or 50,000 rows
from the same generator; both estimators are fitted on that reference (ours: calibration chosen by
cross-validated log loss; NannyML 0.13 CBPE: its default isotonic calibration, one chunk per
batch) and estimate ROC AUC and accuracy on 5,000-row batches that are

* unshifted: fresh draws of the reference's distribution;
* shifted: a covariate shift (rows kept with a probability rising with credit utilization and
  debt-to-income, so riskier applicants dominate; P(default | x) unchanged).

Per reference size and batch kind: bias (mean estimate - realized), MAE, and the coverage of the
95% band (ours: its band; NannyML: estimate +- 1.96 sampling errors), over ``--models`` models x
``--batches`` batches.

    python bench/estimation_reference.py [--models 20] [--batches 3] [--nannyml .venv-bench-nannyml/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

from modelsteward.domain.estimation import Estimator
from modelsteward.domain.training import build_pipeline, predict, prepare_features, target_values
from modelsteward.spec import load_spec_yaml, parse_spec
from stewardtools.datasets import generate

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "examples" / "specs" / "credit-default.yaml"
SIZES = (500, 1500, 5000, 50_000)
BATCH_ROWS = 5000
METRICS = ("roc_auc", "accuracy")
CLASSES = ["0", "1"]


def shifted(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows whose inputs moved toward risk while P(y | x) stayed (selection on x only)."""
    pool = generate("credit-default", 4 * n, seed=seed)
    risk = 2.5 * (pool["credit_utilization"] - 0.4) + 3.0 * (pool["debt_to_income"] - 0.25)
    keep = np.random.default_rng(seed).random(len(pool)) < 1.0 / (1.0 + np.exp(-2.0 * risk))
    return pool[keep].head(n).reset_index(drop=True)


def scored(pipeline: object, frame: pd.DataFrame, spec: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    preds = predict(pipeline, prepare_features(frame, spec), CLASSES)  # type: ignore[arg-type]
    y = target_values(frame, spec).astype(str).to_numpy()  # type: ignore[arg-type]
    assert preds.proba is not None
    return preds.proba, np.asarray(preds.label, dtype=object), (y == "1").astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--batches", type=int, default=3, help="batches of each kind per model")
    parser.add_argument("--nannyml", default=".venv-bench-nannyml/bin/python")
    args = parser.parse_args()
    spec = parse_spec(load_spec_yaml(SPEC.read_text(encoding="utf-8")))
    started = time.perf_counter()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = Path(tmp)
        for m in range(args.models):
            train = generate("credit-default", 6000, seed=1000 + m)
            pipeline = build_pipeline(spec)
            pipeline.fit(prepare_features(train, spec), target_values(train, spec).astype(str))
            batches = {
                (kind, b): scored(pipeline, frame, spec)
                for b in range(args.batches)
                for kind, frame in (
                    ("unshifted", generate("credit-default", BATCH_ROWS, seed=5000 + 100 * m + b)),
                    ("shifted", shifted(BATCH_ROWS, 7000 + 100 * m + b)),
                )
            }
            batch_frame = pd.concat(
                pd.DataFrame(
                    {"y_true": y, "y_pred_proba": p[:, 1], "y_pred": label.astype(int), "batch": f"{k}-{b}"}
                )
                for (k, b), (p, label, y) in batches.items()
            )
            for size in SIZES:
                proba, label, y = scored(
                    pipeline, generate("credit-default", size, seed=3000 + 10 * m + size), spec
                )
                case = f"case-{m}-{size}"
                pd.DataFrame(
                    {"y_true": y, "y_pred_proba": proba[:, 1], "y_pred": label.astype(int)}
                ).to_parquet(cases / f"{case}-reference.parquet")
                batch_frame.to_parquet(cases / f"{case}-batches.parquet")
                estimator = Estimator.fit(proba, y.astype(str), CLASSES)
                for (kind, b), (p, lab, yy) in batches.items():
                    est = estimator.estimate(p, lab)
                    real = {
                        "roc_auc": roc_auc_score(yy, p[:, 1]),
                        "accuracy": accuracy_score(yy, lab.astype(int)),
                    }
                    for metric in METRICS:
                        e = est.metrics[metric]
                        rows.append({
                            "case": case, "batch": f"{kind}-{b}", "size": size, "kind": kind, "metric": metric,
                            "realized": real[metric], "ours": e.value, "ours_lo": e.lower, "ours_hi": e.upper,
                            "calibration": est.calibration[0], "trusted": est.trusted,
                        })  # fmt: skip
        out = cases / "nannyml.json"
        peer = Path(args.nannyml)
        nannyml: dict[str, dict[str, dict[str, float]]] = {}
        if peer.exists():
            quiet = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}  # no usage upload: loopback only
            done = subprocess.run(  # noqa: S603
                [str(peer), str(HERE / "workers" / "cbpe.py"), str(cases), str(out)], check=False, env=quiet
            )
            if done.returncode == 0:
                nannyml = json.loads(out.read_text(encoding="utf-8"))
    frame = pd.DataFrame(rows)
    frame["nml"] = [
        nannyml.get(r.case, {}).get(r.batch, {}).get(f"{r.metric}_value", np.nan) for r in frame.itertuples()
    ]
    se = [
        nannyml.get(r.case, {}).get(r.batch, {}).get(f"{r.metric}_sampling_error", np.nan)
        for r in frame.itertuples()
    ]
    frame["nml_lo"] = frame["nml"] - 1.96 * np.asarray(se)
    frame["nml_hi"] = frame["nml"] + 1.96 * np.asarray(se)
    print(report(frame, args.models, args.batches))
    print(
        f"\n{len(frame) // len(METRICS)} estimates in {time.perf_counter() - started:.0f} s"
        + ("" if nannyml else "  (NannyML not run: no venv at --nannyml)")
    )


def report(frame: pd.DataFrame, models: int, batches: int) -> str:
    lines = [
        f"credit-default, {models} models x {batches} batches of {BATCH_ROWS} rows per kind; "
        "bias = mean(estimate - realized), coverage of the 95% band",
        "",
        "| metric | reference rows | batches | ours: bias | MAE | coverage | NannyML CBPE: bias | MAE | coverage | our maps | trusted |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for metric in METRICS:
        for size in SIZES:
            for kind in ("unshifted", "shifted"):
                g = frame[(frame.metric == metric) & (frame["size"] == size) & (frame.kind == kind)]
                err, nerr = g.ours - g.realized, g.nml - g.realized
                cover = ((g.ours_lo <= g.realized) & (g.realized <= g.ours_hi)).mean()
                ncover = ((g.nml_lo <= g.realized) & (g.realized <= g.nml_hi)).mean()
                maps = "/".join(
                    f"{k} {v}" for k, v in g.drop_duplicates("case").calibration.value_counts().items()
                )
                lines.append(
                    f"| {metric} | {size:,} | {kind} | {err.mean():+.4f} | {err.abs().mean():.4f} | {cover:.0%} "
                    f"| {nerr.mean():+.4f} | {nerr.abs().mean():.4f} | {ncover:.0%} | {maps} "
                    f"| {g.drop_duplicates('case').trusted.mean():.0%} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
