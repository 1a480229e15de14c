"""Benchmark: the label-free estimate against realized values by reference size, next to NannyML's CBPE.

The example credit-default model (the spec's HistGradientBoostingClassifier, trained by
``domain.training`` on 6,000 rows) gets ``--references`` labeled references of 500, 1,500, 5,000 or
50,000 rows from the same generator; both estimators are fitted on each reference (ours:
calibration chosen by cross-validated log loss, and for each batch refitted on the reference rows
weighted to resemble it when it measurably differs, as score_batch does with the version's
estimation sample; NannyML 0.13 CBPE: its default isotonic calibration, one chunk per batch) and
estimate ROC AUC and accuracy on 5,000-row batches that are

* unshifted: fresh draws of the reference's distribution;
* shifted: a covariate shift (rows kept with a probability rising with credit utilization and
  debt-to-income, so riskier applicants dominate; P(default | x) unchanged).

Per reference size and batch kind: bias (mean estimate - realized, with its standard error over
the references: a reference's own luck is most of an estimate's error, so one reference per model
cannot pin a bias of 0.005), MAE, the coverage of the 95% band (ours: its band; NannyML: estimate
+- 1.96 sampling errors) and our band's mean width, over ``--models`` models x ``--references``
references x ``--batches`` batches; beside them our plain estimate's bias (no shift weights).

    python bench/estimation_reference.py [--models 20] [--references 4] [--batches 3]
        [--nannyml .venv-bench-nannyml/bin/python]
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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

from modelsteward.domain.estimation import Estimator
from modelsteward.domain.shift_adjust import adjust_for_batch, sample_frame
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


def scored(pipeline: object, frame: pd.DataFrame, spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    preds = predict(pipeline, prepare_features(frame, spec), CLASSES)  # type: ignore[arg-type]
    y = target_values(frame, spec).astype(str).to_numpy()  # type: ignore[arg-type]
    assert preds.proba is not None
    return preds.proba, np.asarray(preds.label, dtype=object), (y == "1").astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--references", type=int, default=4, help="references of each size per model")
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
            frames = {
                (kind, b): frame
                for b in range(args.batches)
                for kind, frame in (
                    ("unshifted", generate("credit-default", BATCH_ROWS, seed=5000 + 100 * m + b)),
                    ("shifted", shifted(BATCH_ROWS, 7000 + 100 * m + b)),
                )
            }
            batches = {key: scored(pipeline, frame, spec) for key, frame in frames.items()}
            inputs = {key: prepare_features(frame, spec) for key, frame in frames.items()}
            batch_frame = pd.concat(
                pd.DataFrame(
                    {"y_true": y, "y_pred_proba": p[:, 1], "y_pred": label.astype(int), "batch": f"{k}-{b}"}
                )
                for (k, b), (p, label, y) in batches.items()
            )
            for size in SIZES:
                for r in range(args.references):
                    rows += _case(cases, spec, pipeline, m, size, r, batches, inputs, batch_frame)
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
    print(report(frame, args.models, args.references, args.batches))
    print(
        f"\n{len(frame) // len(METRICS)} estimates in {time.perf_counter() - started:.0f} s"
        + ("" if nannyml else "  (NannyML not run: no venv at --nannyml)")
    )


def _case(
    cases: Path,
    spec: Any,
    pipeline: object,
    m: int,
    size: int,
    r: int,
    batches: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    inputs: dict[tuple[str, int], pd.DataFrame],
    batch_frame: pd.DataFrame,
) -> list[dict[str, object]]:
    """One reference: our estimate (adjusted to each batch, and plain) of every batch, and the files
    NannyML's worker reads."""
    reference = generate("credit-default", size, seed=3000 + 10 * m + size + 100_000 * r)
    proba, label, y = scored(pipeline, reference, spec)
    case = f"case-{m}-{size}-{r}"
    pd.DataFrame({"y_true": y, "y_pred_proba": proba[:, 1], "y_pred": label.astype(int)}).to_parquet(
        cases / f"{case}-reference.parquet"
    )
    batch_frame.to_parquet(cases / f"{case}-batches.parquet")
    estimator = Estimator.fit(proba, y.astype(str), CLASSES)
    sample = sample_frame(prepare_features(reference, spec), proba, y.astype(str), CLASSES, seed=spec.seed)
    numeric, categorical = spec.features.numeric, spec.features.categorical
    out: list[dict[str, object]] = []
    for (kind, b), (p, lab, yy) in batches.items():
        plain = estimator.estimate(p, lab)
        adjusted = adjust_for_batch(
            estimator, sample, inputs[(kind, b)], numeric, categorical, seed=spec.seed
        )
        est = adjusted.estimate(p, lab)
        real = {"roc_auc": roc_auc_score(yy, p[:, 1]), "accuracy": accuracy_score(yy, lab.astype(int))}
        for metric in METRICS:
            e = est.metrics[metric]
            out.append(
                {
                    "case": case,
                    "batch": f"{kind}-{b}",
                    "size": size,
                    "kind": kind,
                    "metric": metric,
                    "realized": real[metric],
                    "ours": e.value,
                    "ours_lo": e.lower,
                    "ours_hi": e.upper,
                    "plain": plain.metrics[metric].value,
                    "adjusted": est.shift_adjusted,
                    "calibration": est.calibration[0],
                    "trusted": est.trusted,
                    "reference": f"{m}-{r}",
                }
            )
    return out


def report(frame: pd.DataFrame, models: int, references: int, batches: int) -> str:
    lines = [
        f"credit-default, {models} models x {references} references x {batches} batches of {BATCH_ROWS} "
        "rows per kind; bias = mean(estimate - realized) +- its standard error over the references, "
        "coverage and mean width of the 95% band; plain = ours without shift weights",
        "",
        "| metric | reference rows | batches | ours: bias | MAE | coverage | band width | plain: bias "
        "| NannyML CBPE: bias | MAE | coverage | our maps | trusted |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for metric in METRICS:
        for size in SIZES:
            for kind in ("unshifted", "shifted"):
                g = frame[(frame.metric == metric) & (frame["size"] == size) & (frame.kind == kind)]
                err, nerr, perr = g.ours - g.realized, g.nml - g.realized, g.plain - g.realized
                per_reference = err.groupby(g.reference).mean()
                se = (
                    per_reference.std(ddof=1) / np.sqrt(len(per_reference))
                    if len(per_reference) > 1
                    else np.nan
                )
                cover = ((g.ours_lo <= g.realized) & (g.realized <= g.ours_hi)).mean()
                ncover = ((g.nml_lo <= g.realized) & (g.realized <= g.nml_hi)).mean()
                width = (g.ours_hi - g.ours_lo).mean()
                maps = "/".join(
                    f"{k} {v}" for k, v in g.drop_duplicates("case").calibration.value_counts().items()
                )
                ours = (
                    f"{err.mean():+.4f} \u00b1 {se:.4f} | {err.abs().mean():.4f} | {cover:.1%} | {width:.3f}"
                )
                peer = f"{nerr.mean():+.4f} | {nerr.abs().mean():.4f} | {ncover:.1%}"
                trusted = g.drop_duplicates("case").trusted.mean()
                lines.append(
                    f"| {metric} | {size:,} | {kind} | {ours} | {perr.mean():+.4f} | {peer} | {maps} "
                    f"| {trusted:.0%} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
