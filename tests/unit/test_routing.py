"""A/B routing: stable per row id, across runs and processes, and faithful to the traffic share."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from modelsteward.domain.routing import (
    CHALLENGER,
    CHAMPION,
    assign_variants,
    challenger_mask,
    normalize_ids,
    routing_score,
    routing_scores,
)

IDS = [f"customer-{i}" for i in range(100_000)]


def test_score_is_the_documented_hash() -> None:
    digest = hashlib.sha256(b"credit:customer-7").digest()
    assert routing_score("credit", "customer-7") == int.from_bytes(digest[:8], "big") / 2**64


def test_scores_are_uniform_in_unit_interval() -> None:
    u = routing_scores("credit", IDS)
    assert u.min() >= 0.0 and u.max() < 1.0
    # deciles of a uniform sample: each ~10% (sd ~0.1% at 100k)
    counts = np.histogram(u, bins=10, range=(0, 1))[0] / len(u)
    assert np.all(np.abs(counts - 0.1) < 0.006)


@pytest.mark.parametrize("share", [0.05, 0.3, 0.5, 0.9])
def test_share_respected_on_100k_ids(share: float) -> None:
    mask = challenger_mask("credit", IDS, share)
    sd = (share * (1 - share) / len(IDS)) ** 0.5
    assert abs(mask.mean() - share) < 4 * sd


def test_deterministic_across_calls_and_input_types() -> None:
    first = assign_variants("credit", IDS[:5000], 0.4)
    again = assign_variants("credit", pd.Series(IDS[:5000]), 0.4)
    assert (first == again).all()


def test_deterministic_across_processes() -> None:
    ids = IDS[:2000]
    code = (
        "import json,sys;from modelsteward.domain.routing import challenger_mask;"
        "ids=json.load(sys.stdin);print(json.dumps(challenger_mask('credit', ids, 0.35).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(ids),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    other_process = np.array(json.loads(out.stdout))
    assert (other_process == challenger_mask("credit", ids, 0.35)).all()


def test_raising_the_share_only_moves_rows_to_the_challenger() -> None:
    low = challenger_mask("credit", IDS[:20000], 0.2)
    high = challenger_mask("credit", IDS[:20000], 0.6)
    assert not (low & ~high).any()  # every challenger row at 20% stays challenger at 60%
    assert high.sum() > low.sum()


def test_extreme_shares() -> None:
    assert not challenger_mask("credit", IDS[:1000], 0.0).any()
    assert challenger_mask("credit", IDS[:1000], 1.0).all()
    with pytest.raises(ValueError, match="traffic_share"):
        challenger_mask("credit", IDS[:10], 1.5)


def test_numeric_and_string_ids_are_one_row() -> None:
    as_int = assign_variants("credit", [1, 2, 3, 42], 0.5)
    as_float = assign_variants("credit", pd.Series([1.0, 2.0, 3.0, 42.0]), 0.5)
    as_str = assign_variants("credit", ["1", "2", "3", "42"], 0.5)
    assert (as_int == as_float).all() and (as_int == as_str).all()
    assert list(normalize_ids(pd.Series([7.0, np.nan]))) == ["7", None]


def test_models_route_independently() -> None:
    a = challenger_mask("credit", IDS[:50000], 0.5)
    b = challenger_mask("churn", IDS[:50000], 0.5)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03


def test_variant_names() -> None:
    variants = assign_variants("credit", IDS[:1000], 0.5)
    assert set(variants) == {CHAMPION, CHALLENGER}
