"""NannyML CBPE on the estimation bench's cases; runs in NannyML's own venv (.venv-bench-nannyml).

    python cbpe.py CASES_DIR OUT_JSON

CASES_DIR holds ``case-<i>-reference.parquet`` and ``case-<i>-batches.parquet`` (columns
``y_true``, ``y_pred_proba``, ``y_pred``, and ``batch`` for the batches). Per case and batch the
out JSON gets CBPE's estimate and sampling error of ROC AUC and accuracy (its defaults: isotonic
calibration; one chunk per batch).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd


def main() -> None:
    import nannyml as nml

    warnings.filterwarnings("ignore")
    cases, out = Path(sys.argv[1]), Path(sys.argv[2])
    results: dict[str, dict[str, dict[str, float]]] = {}
    for ref_path in sorted(cases.glob("case-*-reference.parquet")):
        case = ref_path.name.removesuffix("-reference.parquet")
        reference = pd.read_parquet(ref_path)
        batches = pd.read_parquet(cases / f"{case}-batches.parquet")
        estimator = nml.CBPE(
            y_pred_proba="y_pred_proba",
            y_pred="y_pred",
            y_true="y_true",
            metrics=["roc_auc", "accuracy"],
            problem_type="classification_binary",
            chunk_number=1,
        )
        estimator.fit(reference)
        results[case] = {}
        for batch, rows in batches.groupby("batch"):
            frame = estimator.estimate(rows.drop(columns=["batch"])).filter(period="analysis").to_df()
            results[case][str(batch)] = {
                f"{metric}_{field}": float(frame[(metric, field)].iloc[0])
                for metric in ("roc_auc", "accuracy")
                for field in ("value", "sampling_error")
            }
    out.write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main()
