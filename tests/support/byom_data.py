"""Test data for a model served elsewhere (bring your own model), and SageMaker Model Monitor files.

``rows(task, n, seed)`` makes inference rows with the model's own predictions (and probabilities
for classifiers) plus the true outcome, so a test can split them into a reference upload, inference
batches and label files, and recompute the metrics with scikit-learn.

``capture_lines`` / ``ground_truth_lines`` write the same rows the way SageMaker does
(docs: model-monitor-data-capture, model-monitor-model-quality-merge): one JSON object per line,
``captureData.endpointInput`` / ``endpointOutput`` with ``observedContentType``, ``mode``, ``data``
and ``encoding`` (CSV, JSON or BASE64), ``eventMetadata.eventId`` / ``inferenceId`` /
``inferenceTime`` and ``eventVersion``; ground truth as ``groundTruthData{data, encoding}`` and
``eventMetadata.eventId``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from typing import Any

import numpy as np
import pandas as pd

FEATURES_NUMERIC = ["x1", "x2"]
FEATURES_CATEGORICAL = ["region"]
CLASSES = {"binary": ["0", "1"], "multiclass": ["a", "b", "c"]}


def spec_yaml(name: str, task: str, extra: str = "") -> bytes:
    target = "outcome"
    lines = [
        f"name: {name}",
        f"task: {task}",
        f"target: {target}",
        "id_column: id",
        "timestamp_column: timestamp",
        "prediction_column: prediction",
    ]
    if task != "regression":
        lines += ["probability_column: probability", f"classes: {json.dumps(CLASSES[task])}"]
        lines.append("primary_metric: " + ("roc_auc" if task == "binary" else "accuracy"))
    else:  # the default estimator is a classifier: onboarding checks it even if it never trains
        lines += [
            "primary_metric: rmse",
            "estimator:",
            "  class_path: sklearn.ensemble.HistGradientBoostingRegressor",
        ]
    lines += [
        "features:",
        f"  numeric: {json.dumps(FEATURES_NUMERIC)}",
        f"  categorical: {json.dumps(FEATURES_CATEGORICAL)}",
        "segments: [region]",
        "pii:",
        "  action: allow",
    ]
    return ("\n".join(lines) + "\n" + extra).encode()


def rows(task: str, n: int, seed: int, start: dt.datetime, *, shift: float = 0.0) -> pd.DataFrame:
    """Inference rows with the model's outputs and the truth (column ``outcome``)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, n)
    x2 = rng.normal(0.0, 1.0, n)
    region = rng.choice(["north", "south", "east"], n)
    effect = pd.Series(region).map({"north": 0.3, "south": -0.2, "east": 0.0}).to_numpy()
    stamps = [start + dt.timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 3600, n))]
    frame = pd.DataFrame(
        {
            "id": [f"ev-{seed}-{i}" for i in range(n)],
            "timestamp": [t.isoformat().replace("+00:00", "Z") for t in stamps],
            "x1": x1.round(4),
            "x2": x2.round(4),
            "region": region,
        }
    )
    if task == "binary":
        logit = 1.4 * x1 - 0.9 * x2 + effect
        truth = rng.random(n) < 1 / (1 + np.exp(-logit))
        p = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.6, n))))
        frame["probability"] = p.round(6)
        frame["prediction"] = np.where(p >= 0.5, "1", "0")
        frame["outcome"] = np.where(truth, "1", "0")
    elif task == "multiclass":
        scores = np.column_stack([x1, x2, effect + 0.2]) + rng.normal(0, 0.5, (n, 3))
        proba = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        truth = np.array(
            [
                rng.choice(3, p=row)
                for row in np.exp(scores * 1.2) / np.exp(scores * 1.2).sum(1, keepdims=True)
            ]
        )
        for j, c in enumerate(CLASSES["multiclass"]):
            frame[f"probability_{c}"] = proba[:, j].round(6)
        frame["prediction"] = np.array(CLASSES["multiclass"])[proba.argmax(axis=1)]
        frame["outcome"] = np.array(CLASSES["multiclass"])[truth]
    else:
        truth = 10 + 3 * x1 - 2 * x2 + effect + rng.normal(0, 1.0, n)
        frame["prediction"] = (truth + rng.normal(0, 0.8, n)).round(4)
        frame["outcome"] = truth.round(4)
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _encode(text: str, style: str) -> tuple[str, str]:
    if style == "BASE64":
        return base64.b64encode(text.encode()).decode("ascii"), "BASE64"
    return text, style


def capture_lines(
    frame: pd.DataFrame, *, content_type: str, base64_encoded: bool, inference_id: bool = False
) -> bytes:
    """SageMaker endpoint data capture of a binary classifier: input features, output P(positive).

    ``content_type``: ``text/csv`` (input: feature values in the spec's order; output: the score) or
    ``application/json`` (input: an object of feature values; output ``{"prediction", "probability"}``).
    """
    features = FEATURES_NUMERIC + FEATURES_CATEGORICAL
    out = []
    for row in frame.to_dict("records"):
        if content_type == "text/csv":
            inp = ",".join(str(row[f]) for f in features)
            res = f"{row['probability']}"
            in_enc, out_enc = "CSV", "CSV"
            out_type = "text/csv; charset=utf-8"
        else:
            inp = json.dumps({f: row[f] for f in features})
            res = json.dumps({"prediction": row["prediction"], "probability": row["probability"]})
            in_enc, out_enc = "JSON", "JSON"
            out_type = "application/json"
        if base64_encoded:
            in_enc = out_enc = "BASE64"
        in_data, _ = _encode(inp, in_enc)
        out_data, _ = _encode(res, out_enc)
        meta: dict[str, Any] = {
            "eventId": row["id"] if not inference_id else f"evt-{row['id']}",
            "inferenceTime": row["timestamp"],
        }
        if inference_id:
            meta["inferenceId"] = row["id"]
        out.append(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": content_type,
                        "mode": "INPUT",
                        "data": in_data,
                        "encoding": in_enc,
                    },
                    "endpointOutput": {
                        "observedContentType": out_type,
                        "mode": "OUTPUT",
                        "data": out_data,
                        "encoding": out_enc,
                    },
                },
                "eventMetadata": meta,
                "eventVersion": "0",
            }
        )
    return ("\n".join(json.dumps(o) for o in out) + "\n").encode()


def ground_truth_lines(frame: pd.DataFrame, *, base64_encoded: bool = False) -> bytes:
    out = []
    for row in frame.to_dict("records"):
        data, enc = _encode(str(row["outcome"]), "BASE64" if base64_encoded else "CSV")
        out.append(
            {
                "groundTruthData": {"data": data, "encoding": enc},
                "eventMetadata": {"eventId": row["id"]},
                "eventVersion": "0",
            }
        )
    return ("\n".join(json.dumps(o) for o in out) + "\n").encode()


def sklearn_metrics(task: str, frame: pd.DataFrame) -> dict[str, float]:
    """The metrics scikit-learn computes on the same rows (truth ``outcome``)."""
    from sklearn import metrics as skm

    if task == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(frame["outcome"], frame["prediction"]))),
            "mae": float(skm.mean_absolute_error(frame["outcome"], frame["prediction"])),
            "r2": float(skm.r2_score(frame["outcome"], frame["prediction"])),
        }
    if task == "binary":
        return {
            "roc_auc": float(skm.roc_auc_score(frame["outcome"] == "1", frame["probability"])),
            "accuracy": float(skm.accuracy_score(frame["outcome"], frame["prediction"])),
            "f1": float(skm.f1_score(frame["outcome"], frame["prediction"], pos_label="1")),
        }
    return {
        "accuracy": float(skm.accuracy_score(frame["outcome"], frame["prediction"])),
        "f1": float(skm.f1_score(frame["outcome"], frame["prediction"], average="macro")),
    }
