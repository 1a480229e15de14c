"""The three example specs with their sample data go through the offline check like a user's would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelsteward.spec import parse_spec
from stewardtools.cli.main import main

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


@pytest.mark.parametrize("model", ["credit-default", "product-category", "house-price"])
def test_example_spec_and_sample_data_check_cleanly_and_catch_drift(model: str, tmp_path: Path) -> None:
    spec_path = SPECS / f"{model}.yaml"
    spec = parse_spec(spec_path.read_text())
    assert spec.name == model
    ref, same, shifted = tmp_path / "ref.parquet", tmp_path / "same.csv.gz", tmp_path / "shifted.jsonl"
    assert main(["sample-data", model, "--rows", "4000", "--seed", "1", "--out", str(ref)]) == 0
    assert main(["sample-data", model, "--rows", "3000", "--seed", "2", "--out", str(same)]) == 0
    assert (
        main(["sample-data", model, "--rows", "3000", "--seed", "3", "--drift", "1", "--out", str(shifted)])
        == 0
    )

    args = ["check", "--reference", str(ref), "--spec", str(spec_path)]
    assert main([*args, "--current", str(same), "--out", str(tmp_path / "ok")]) == 0
    assert main([*args, "--current", str(shifted), "--out", str(tmp_path / "drift")]) == 1
    report = json.loads((tmp_path / "drift" / "report.json").read_text())
    assert report["verdict"].startswith("drift") and report["model"] == model
    assert any(f["drifted"] for f in report["features"] if f["name"] in spec.features.all)


def test_sample_data_refuses_an_unknown_format(tmp_path: Path) -> None:
    assert main(["sample-data", "house-price", "--out", str(tmp_path / "x.xlsx")]) == 2


def test_the_cli_offers_exactly_the_example_datasets() -> None:
    from stewardtools.cli.sample import EXAMPLE_MODELS
    from stewardtools.datasets import EXAMPLES

    assert tuple(sorted(EXAMPLES)) == EXAMPLE_MODELS
