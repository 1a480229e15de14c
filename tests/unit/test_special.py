"""The monitoring path's special functions against scipy's (which the monitor no longer imports)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from modelsteward.domain.special import chi2_sf, expit, kolmogorov, ndtri


@pytest.mark.parametrize("x", [*np.linspace(0.01, 3.0, 300), 0.5, 0.999, 1.0, 1.001, 4.0, 6.0, 10.0])
def test_kolmogorov_matches_scipy(x: float) -> None:
    assert kolmogorov(x) == pytest.approx(special.kolmogorov(x), rel=1e-12, abs=1e-14)


def test_kolmogorov_limits() -> None:
    assert kolmogorov(0.0) == 1.0 and kolmogorov(-1.0) == 1.0
    assert 0.0 <= kolmogorov(30.0) < 1e-300


@pytest.mark.parametrize("df", [*range(1, 40), 99, 100, 199, 200])
def test_chi2_survival_matches_scipy(df: int) -> None:
    for x in [*np.linspace(0.01, 3 * df + 60, 120), 1e4, 1e5]:
        expected = float(special.chdtrc(df, x))
        got = chi2_sf(df, x)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-300), (df, x)


def test_chi2_survival_edges() -> None:
    assert chi2_sf(3, 0.0) == 1.0
    assert chi2_sf(1, 1e9) == 0.0
    with pytest.raises(ValueError):
        chi2_sf(0, 1.0)


def test_ndtri_and_expit_match_scipy() -> None:
    p = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 20001), [0.02425, 0.97575, 0.5]])
    np.testing.assert_allclose(ndtri(p), special.ndtri(p), rtol=0, atol=1e-13)
    x = np.linspace(-800, 800, 4001)
    np.testing.assert_allclose(expit(x), special.expit(x), rtol=1e-13, atol=1e-300)
