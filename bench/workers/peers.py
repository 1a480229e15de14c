"""The peers, run in their own virtual environments (see bench/run.py).

    python peers.py evidently|nannyml REFERENCE CURRENT TRUTH_JSON OUT_JSON
    python peers.py evidently-chunks|nannyml-chunks REFERENCE ANALYSIS TRUTH_JSON OUT_JSON  # sensitivity

evidently: DataDriftPreset with its defaults (Report.run on pandas frames; columns declared as
numerical/categorical as the data are). nannyml: UnivariateDriftCalculator with its defaults
(Jensen-Shannon for both types, threshold 0.1, 10 chunks); a column counts as flagged when any
analysis chunk raises an alert, which is how its alerts read.
"""

import json
import sys

import pandas as pd


def evidently(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list, categorical: list) -> list:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith(":ValueDrift"):
            continue
        method, threshold, value = str(config["method"]), float(config["threshold"]), float(metric["value"])
        # p-value tests (reference <= 1000 rows) drift below the threshold; distances at or above it
        if (value < threshold) if "p_value" in method else (value >= threshold):
            flagged.append(config["column"])
    return flagged


def nannyml(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list, categorical: list) -> list:
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(column_names=numeric + categorical, treat_as_categorical=categorical)
    calc.fit(ref)
    frame = calc.calculate(cur).filter(period="analysis").to_df()
    flagged = []
    for column in numeric + categorical:
        alerts = [c for c in frame.columns if c[0] == column and c[-1] == "alert"]
        if any(bool(frame[c].any()) for c in alerts):
            flagged.append(column)
    return flagged


def nannyml_chunks(ref: pd.DataFrame, cur: pd.DataFrame, truth: dict) -> dict:
    """Per analysis chunk, the columns NannyML alerts on: its defaults (Jensen-Shannon, constant 0.1)
    and its reference-derived thresholds (Wasserstein and chi-square, mean +- 3 std of the statistic
    over the reference chunks: how it earns a per-feature bar)."""
    import nannyml as nml

    numeric, categorical, size = truth["numeric"], truth["categorical"], truth["chunk_rows"]
    out = {}
    configs = {
        "NannyML (defaults: Jensen-Shannon, 0.1)": {},
        "NannyML (Wasserstein + chi2, reference-chunk thresholds)": {
            "continuous_methods": ["wasserstein"],
            "categorical_methods": ["chi2"],
        },
    }
    for label, kwargs in configs.items():
        calc = nml.UnivariateDriftCalculator(
            column_names=numeric + categorical, treat_as_categorical=categorical, chunk_size=size, **kwargs
        )
        calc.fit(ref)
        frame = calc.calculate(cur).filter(period="analysis").to_df()
        chunks = []
        for i in range(len(frame)):
            row = frame.iloc[i]
            flagged = []
            for column in numeric + categorical:
                alerts = [c for c in frame.columns if c[0] == column and c[-1] == "alert"]
                if any(bool(row[c]) for c in alerts):
                    flagged.append(column)
            chunks.append(flagged)
        out[label] = chunks
    return out


def evidently_chunks(ref: pd.DataFrame, cur: pd.DataFrame, truth: dict) -> dict:
    size = truth["chunk_rows"]
    chunks = [
        evidently(ref, cur.iloc[i : i + size].reset_index(drop=True), truth["numeric"], truth["categorical"])
        for i in range(0, len(cur), size)
    ]
    return {"Evidently (DataDriftPreset defaults)": chunks}


def main() -> None:
    tool, ref_path, cur_path, truth_path, out = sys.argv[1:6]
    if tool.endswith("-chunks"):
        with open(truth_path) as fh:
            truth = json.load(fh)
        ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
        run_chunks = evidently_chunks if tool == "evidently-chunks" else nannyml_chunks
        with open(out, "w") as fh:
            json.dump({"chunks": run_chunks(ref, cur, truth)}, fh)
        return
    with open(truth_path) as fh:
        truth = json.load(fh)
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    run = evidently if tool == "evidently" else nannyml
    flagged = run(ref, cur, truth["numeric"], truth["categorical"])
    with open(out, "w") as fh:
        json.dump({"flagged": flagged}, fh)


if __name__ == "__main__":
    main()
