"""The four special functions the monitoring path needs, in numpy and the standard library.

``scipy.special`` costs ~0.2 s of import on every cold start (its array-API shims pull most of
numpy's submodules in) for four one-line uses: the Kolmogorov survival function (KS p-values), the
chi-square survival function (chi-square p-values), the logistic function and the normal quantile
(the domain classifier). tests/unit/test_special.py checks each against scipy.
"""

from __future__ import annotations

import math

import numpy as np

_TERMS = 12  # both Kolmogorov series are below 1e-30 after a handful of terms where each is used


def kolmogorov(x: float) -> float:
    """P(K > x) of the Kolmogorov distribution (``scipy.special.kolmogorov``).

    Below 1 the Jacobi-theta form of the CDF converges fastest, above it the alternating series of
    the survival function; neither subtracts nearly equal numbers where its result is small.
    """
    if not x > 0:
        return 1.0
    if x < 1.0:
        w = -(math.pi**2) / (8 * x * x)
        cdf = math.sqrt(2 * math.pi) / x * sum(math.exp((2 * k - 1) ** 2 * w) for k in range(1, _TERMS))
        return min(1.0, max(0.0, 1.0 - cdf))
    sf = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, _TERMS))
    return float(min(1.0, max(0.0, sf)))


def chi2_sf(df: int, x: float) -> float:
    """P(X > x) for a chi-square variable with integer ``df`` (``scipy.special.chdtrc``).

    The regularized upper incomplete gamma Q(df/2, x/2) has a finite series for integer and
    half-integer shapes (plus erfc for odd ``df``); its terms are positive and summed from logs, so
    a tiny p-value keeps its relative precision and huge statistics cannot overflow.
    """
    if df < 1:
        raise ValueError("degrees of freedom must be a positive integer")
    if not x > 0:
        return 1.0
    y = x / 2
    log_y = math.log(y)
    if df % 2 == 0:  # Q(n, y) = e^-y * sum_{j<n} y^j / j!
        logs = [-y + j * log_y - math.lgamma(j + 1) for j in range(df // 2)]
        head = 0.0
    else:  # Q(n + 1/2, y) = erfc(sqrt y) + e^-y * sum_{k=1..n} y^(k-1/2) / Gamma(k+1/2)
        logs = [-y + (k - 0.5) * log_y - math.lgamma(k + 0.5) for k in range(1, (df - 1) // 2 + 1)]
        head = math.erfc(math.sqrt(y))
    if not logs:
        return min(1.0, head)
    top = max(logs)
    tail = math.exp(top) * math.fsum(math.exp(v - top) for v in logs) if top > -745 else 0.0
    return min(1.0, head + tail)


def expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), dtype=np.float64)


# Acklam's rational approximation of the normal quantile (relative error < 1.2e-9), then one
# Halley step on the normal CDF written with erfc, which brings it to double precision.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_LOW = 0.02425
_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _poly(coefs: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        out = out * x + c
    return out


def ndtri(p: np.ndarray) -> np.ndarray:
    """Standard normal quantile of probabilities strictly inside (0, 1) (``scipy.special.ndtri``)."""
    p = np.asarray(p, dtype=np.float64)
    z = np.empty_like(p)
    lower, upper = p < _LOW, p > 1 - _LOW
    mid = ~(lower | upper)
    q = p[mid] - 0.5
    r = q * q
    z[mid] = q * _poly(_A, r) / (_poly((*_B, 1.0), r))
    for side, sign in ((lower, 1.0), (upper, -1.0)):
        t = np.sqrt(-2 * np.log(np.where(sign > 0, p[side], 1 - p[side])))
        z[side] = sign * _poly(_C, t) / _poly((*_D, 1.0), t)
    # Halley refinement on e = Phi(z) - p, each tail from its own erfc (no 1 - tiny)
    tail = 0.5 * _ERFC(np.abs(z) / math.sqrt(2)).astype(np.float64)
    e = np.where(z < 0, tail - p, (1 - p) - tail)
    u = e * math.sqrt(2 * math.pi) * np.exp(z * z / 2)
    return np.asarray(z - u / (1 + z * u / 2), dtype=np.float64)
