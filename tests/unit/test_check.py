"""`steward check`: the monitoring engine offline, on two local files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from stewardtools.cli.check import infer_spec
from stewardtools.cli.main import main


def write_csv(
    path: Path, n: int, seed: int, *, shift: float = 0.0, extra_category: str | None = None
) -> Path:
    rng = np.random.default_rng(seed)
    cats = ["alpha", "beta", "gamma"] + ([extra_category] if extra_category else [])
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "income", "age", "segment", "prediction"])
        for i in range(n):
            w.writerow(
                [
                    f"r{i}",
                    f"{rng.normal(50 + shift, 10):.4f}",
                    int(rng.integers(18, 90)),
                    rng.choice(cats),
                    f"{rng.random():.4f}",
                ]
            )
    return path


def test_no_drift_exits_0_and_writes_the_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = write_csv(tmp_path / "ref.csv", 3_000, 1)
    cur = write_csv(tmp_path / "cur.csv", 3_000, 2)
    out = tmp_path / "out"
    assert main(["check", "--reference", str(ref), "--current", str(cur), "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("OK:") and "report.html" in line
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "ok" and report["rows"] == 3_000
    assert {f["name"] for f in report["features"]} == {"income", "age", "segment", "prediction"}
    for name in ("report.html", "baseline.json", "profile.json", "constraint_violations.json"):
        assert (out / name).stat().st_size > 0


def test_drift_exits_1_and_names_the_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = write_csv(tmp_path / "ref.csv", 3_000, 1)
    cur = write_csv(tmp_path / "cur.csv", 3_000, 2, shift=8)
    assert main(["check", "--reference", str(ref), "--current", str(cur), "--out", str(tmp_path / "o")]) == 1
    line = capsys.readouterr().out
    assert line.startswith("DRIFT:") and "income" in line


def test_html_escapes_data(tmp_path: Path) -> None:
    ref = write_csv(tmp_path / "ref.csv", 2_000, 1, extra_category="<script>alert(1)</script>")
    cur = write_csv(tmp_path / "cur.csv", 2_000, 2, extra_category="<script>alert(1)</script>")
    main(["check", "--reference", str(ref), "--current", str(cur), "--out", str(tmp_path / "o")])
    html = (tmp_path / "o" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html


def test_bad_input_exits_2(tmp_path: Path) -> None:
    cur = write_csv(tmp_path / "cur.csv", 100, 2)
    assert (
        main(
            [
                "check",
                "--reference",
                str(tmp_path / "nope.csv"),
                "--current",
                str(cur),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    (tmp_path / "bad.yaml").write_text("name: Not A Name\n")
    assert (
        main(
            [
                "check",
                "--reference",
                str(cur),
                "--current",
                str(cur),
                "--spec",
                str(tmp_path / "bad.yaml"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_with_a_spec_only_its_columns_are_monitored(tmp_path: Path) -> None:
    ref = write_csv(tmp_path / "ref.csv", 2_000, 1)
    cur = write_csv(tmp_path / "cur.csv", 2_000, 2, shift=8)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: income-model\ntask: regression\ntarget: spend\nprimary_metric: rmse\n"
        "timestamp_column: null\nfeatures:\n  numeric: [age]\n  categorical: [segment]\n"
    )
    out = tmp_path / "o"
    assert (
        main(
            ["check", "--reference", str(ref), "--current", str(cur), "--spec", str(spec), "--out", str(out)]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert report["model"] == "income-model"
    assert {f["name"] for f in report["features"]} == {"age", "segment", "prediction"}


def test_inferred_spec_uses_shared_columns() -> None:
    import pyarrow as pa

    ref = pa.table({"id": ["1"], "x": [1.0], "flag": [True], "only_ref": [1], "prediction": ["yes"]})
    cur = pa.table({"id": ["2"], "x": [2.0], "flag": [False], "prediction": ["no"]})
    spec = infer_spec(ref, cur)
    assert spec.features.numeric == ["x"] and spec.features.categorical == ["flag"]
    assert spec.prediction_column == "prediction" and spec.is_classifier
