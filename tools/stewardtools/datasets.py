"""Deterministic synthetic tabular datasets for the example specs (no downloads).

Each generator returns a pandas DataFrame shaped like a real table for its example spec in
``examples/specs/``: an id, a timestamp, numeric and categorical features with a few missing
values, and (``labeled=True``) the target. The same ``seed`` gives the same rows.

``drift`` (0 = the training distribution, 1 = a strong shift) moves feature distributions
(covariate shift: incomes fall, utilisation rises, category mixes change) and bends the label
relationship a little (concept drift), so monitoring, alarms and retraining have something real to
find. Use different seeds for different batches so ids do not collide.

| model            | task       | target      | signal                                  |
|------------------|------------|-------------|-----------------------------------------|
| credit-default   | binary     | default     | ~12% positives, ROC AUC ~0.8            |
| product-category | multiclass | category    | 5 classes, accuracy ~0.8                |
| house-price      | regression | price       | USD, R2 ~0.85                           |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

_START = pd.Timestamp("2026-01-01T00:00:00Z")


def _ids(prefix: str, seed: int, n: int) -> list[str]:
    return [f"{prefix}-{seed:05d}-{i:06d}" for i in range(n)]


def _timestamps(
    rng: np.random.Generator, n: int, start: pd.Timestamp | str | None, span_hours: float
) -> pd.Series:
    base = pd.Timestamp(start) if start is not None else _START
    if base.tzinfo is None:
        base = base.tz_localize("UTC")
    offsets = np.sort(rng.uniform(0, span_hours * 3600, n))
    return pd.Series(base + pd.to_timedelta(offsets, unit="s"))


def _with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(out.size) < share] = np.nan
    return out


def _choice(
    rng: np.random.Generator, options: list[str], probs: np.ndarray | list[float], n: int
) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), 1e-6, None)
    return rng.choice(np.asarray(options, dtype=object), size=n, p=p / p.sum())


def credit_default(
    n: int = 10_000,
    *,
    seed: int = 0,
    drift: float = 0.0,
    labeled: bool = True,
    start: pd.Timestamp | str | None = None,
    span_hours: float = 24.0,
) -> pd.DataFrame:
    """Consumer-loan applications and whether the loan defaulted within 12 months (binary)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42 - 4 * drift, 12, n), 18, 90).round()
    income = rng.lognormal(np.log(58_000) - 0.15 * drift, 0.55, n).round(-2)
    debt_to_income = np.clip(rng.beta(2, 5, n) * 0.9 + 0.08 * drift, 0, 1.5)
    utilization = np.clip(rng.beta(2, 3, n) + 0.12 * drift, 0, 1)
    late = rng.poisson(0.35 + 0.5 * drift, n)
    months_employed = np.floor(rng.exponential(70 - 20 * drift, n))
    accounts = rng.poisson(5, n) + 1
    loan = rng.lognormal(np.log(12_000) + 0.1 * drift, 0.6, n).round(-2)
    home = _choice(rng, ["rent", "mortgage", "own"], [0.42 + 0.1 * drift, 0.4, 0.18 - 0.05 * drift], n)
    purpose = _choice(
        rng,
        ["debt_consolidation", "credit_card", "home_improvement", "car", "medical", "other"],
        [0.38, 0.22 + 0.1 * drift, 0.12, 0.12, 0.06 + 0.04 * drift, 0.1],
        n,
    )
    region = _choice(rng, ["north", "south", "east", "west"], [0.25, 0.3 + 0.15 * drift, 0.25, 0.2], n)
    logit = (
        -3.0
        + 3.6 * (utilization - 0.4) * (1 - 0.6 * drift)
        + 3.8 * (debt_to_income - 0.25) * (1 + 1.2 * drift)
        + 0.7 * late * (1 - 0.5 * drift)
        - 1.0 * (np.log(income) - np.log(58_000))
        - 0.02 * (age - 42)
        - 0.006 * (months_employed - 60)
        + 0.4 * np.log(loan / 12_000)
        + np.select([home == "rent", home == "own"], [0.35, -0.4], 0.0)
        + np.select([purpose == "medical", purpose == "credit_card"], [0.5, 0.2], 0.0)
        + np.where(region == "south", 0.2, 0.0)
        + np.where(region == "west", 1.4 * drift, 0.0)  # concept drift: a new regional risk appears
    )
    frame = pd.DataFrame(
        {
            "id": _ids("app", seed, n),
            "timestamp": _timestamps(rng, n, start, span_hours),
            "age": age,
            "annual_income": _with_missing(rng, income, 0.02),
            "debt_to_income": debt_to_income.round(4),
            "credit_utilization": utilization.round(4),
            "late_payments_12m": late,
            "months_employed": _with_missing(rng, months_employed, 0.03),
            "open_accounts": accounts,
            "loan_amount": loan,
            "home_ownership": home,
            "loan_purpose": purpose,
            "region": region,
        }
    )
    if labeled:
        frame["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


_CATEGORIES = ["electronics", "home", "fashion", "toys", "sports"]
# per category: log-price mean, weight kg mean, images mean, title words mean, return rate
_CATEGORY_PROFILE = {
    "electronics": (5.0, 1.2, 6.0, 14.0, 0.08),
    "home": (3.9, 4.0, 4.0, 9.0, 0.05),
    "fashion": (3.4, 0.6, 7.0, 8.0, 0.22),
    "toys": (3.1, 0.9, 3.5, 10.0, 0.06),
    "sports": (3.8, 2.5, 4.5, 11.0, 0.09),
}


def product_category(
    n: int = 10_000,
    *,
    seed: int = 0,
    drift: float = 0.0,
    labeled: bool = True,
    start: pd.Timestamp | str | None = None,
    span_hours: float = 24.0,
) -> pd.DataFrame:
    """Marketplace listings and the category a curator assigned them (multiclass, 5 classes)."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.22, 0.24, 0.26, 0.14, 0.14]) + drift * np.array([0.12, -0.06, -0.1, 0.02, 0.02])
    category = _choice(rng, _CATEGORIES, prior, n)
    prof = np.array([_CATEGORY_PROFILE[c] for c in category])
    blur = 1.0 + 0.5 * drift  # categories overlap more under drift (concept drift)
    price = np.exp(rng.normal(prof[:, 0] + 0.2 * drift, 0.55 * blur)).round(2)
    weight = np.clip(rng.gamma(2.0, prof[:, 1] / 2.0), 0.02, None).round(3)
    images = rng.poisson(prof[:, 2])
    title_words = np.clip(rng.normal(prof[:, 3], 3 * blur), 2, None).round()
    return_rate = np.clip(rng.normal(prof[:, 4], 0.03 * blur), 0, 1).round(4)
    rating = np.clip(rng.normal(4.1 - 0.2 * drift, 0.5, n), 1, 5).round(1)
    reviews = rng.negative_binomial(2, 0.02, n)
    tier_probs = {
        "electronics": [0.3, 0.45, 0.25],
        "home": [0.45, 0.4, 0.15],
        "fashion": [0.35, 0.35, 0.3],
        "toys": [0.55, 0.35, 0.1],
        "sports": [0.4, 0.4, 0.2],
    }
    tiers = np.array(["budget", "mid", "premium"], dtype=object)
    brand_tier = np.empty(n, dtype=object)
    for c in _CATEGORIES:
        mask = category == c
        brand_tier[mask] = rng.choice(tiers, size=int(mask.sum()), p=tier_probs[c])
    seller = _choice(rng, ["US", "CN", "DE", "GB", "IN"], [0.4, 0.3 + 0.15 * drift, 0.1, 0.1, 0.1], n)
    shipping = np.where(weight > 5, "freight", _choice(rng, ["standard", "express"], [0.75, 0.25], n))
    frame = pd.DataFrame(
        {
            "id": _ids("sku", seed, n),
            "timestamp": _timestamps(rng, n, start, span_hours),
            "price": _with_missing(rng, price, 0.01),
            "weight_kg": weight,
            "n_images": images,
            "title_words": title_words,
            "return_rate": return_rate,
            "avg_rating": _with_missing(rng, rating, 0.05),
            "review_count": reviews,
            "brand_tier": brand_tier,
            "seller_country": seller,
            "shipping_method": shipping.astype(object),
        }
    )
    if labeled:
        frame["category"] = category
    return frame


_NEIGHBORHOODS = [
    "downtown",
    "riverside",
    "old_town",
    "hillcrest",
    "lakeside",
    "industrial",
    "suburbs",
    "university",
]
_NEIGHBORHOOD_PREMIUM = dict(zip(_NEIGHBORHOODS, [0.35, 0.2, 0.15, 0.25, 0.3, -0.25, 0.0, 0.05], strict=True))


def house_price(
    n: int = 10_000,
    *,
    seed: int = 0,
    drift: float = 0.0,
    labeled: bool = True,
    start: pd.Timestamp | str | None = None,
    span_hours: float = 24.0,
) -> pd.DataFrame:
    """Residential sales and their sale price in USD (regression)."""
    rng = np.random.default_rng(seed)
    sqft = np.clip(rng.lognormal(np.log(1800) + 0.1 * drift, 0.35, n), 350, 9000).round()
    bedrooms = np.clip(np.round(sqft / 650 + rng.normal(0, 0.7, n)), 1, 8)
    bathrooms = np.clip(np.round((bedrooms * 0.6 + rng.normal(0.3, 0.5, n)) * 2) / 2, 1, 6)
    lot = np.clip(rng.lognormal(np.log(6000), 0.6, n), 800, 200_000).round(-1)
    year = np.clip(rng.normal(1985 + 5 * drift, 22, n), 1900, 2026).round()
    distance = np.clip(rng.gamma(2.2, 5.5 + 2 * drift, n), 0.2, 80).round(2)
    school = np.clip(rng.normal(6.5, 1.8, n), 1, 10).round(1)
    hood = _choice(rng, _NEIGHBORHOODS, [0.1, 0.12, 0.1, 0.12, 0.08, 0.08, 0.3 + 0.1 * drift, 0.1], n)
    condition = _choice(rng, ["poor", "fair", "good", "excellent"], [0.06, 0.24, 0.5, 0.2], n)
    ptype = _choice(rng, ["single_family", "townhouse", "condo"], [0.6, 0.2, 0.2 + 0.1 * drift], n)
    log_price = (
        np.log(95)  # USD per square foot at the city edge
        + 0.92 * np.log(sqft)
        + 0.05 * np.log(lot)
        + 0.04 * bathrooms
        - 0.018 * distance
        + 0.05 * (school - 6.5)
        - 0.002 * (2026 - year)
        + np.array([_NEIGHBORHOOD_PREMIUM[h] for h in hood])
        + np.select(
            [condition == "poor", condition == "fair", condition == "excellent"], [-0.25, -0.1, 0.12], 0.0
        )
        + np.select([ptype == "condo", ptype == "townhouse"], [-0.12, -0.05], 0.0)
        + 0.15 * drift  # the market moved
        + rng.normal(0, 0.13, n)
    )
    frame = pd.DataFrame(
        {
            "id": _ids("sale", seed, n),
            "timestamp": _timestamps(rng, n, start, span_hours),
            "sqft": sqft,
            "bedrooms": bedrooms,
            "bathrooms": bathrooms,
            "lot_sqft": _with_missing(rng, lot, 0.04),
            "year_built": year,
            "distance_to_center_km": distance,
            "school_rating": _with_missing(rng, school, 0.02),
            "neighborhood": hood,
            "condition": condition,
            "property_type": ptype,
        }
    )
    if labeled:
        frame["price"] = np.exp(log_price).round(-2)
    return frame


Generator = Callable[..., pd.DataFrame]

#: Example model name (as in examples/specs/<name>.yaml) -> its generator.
EXAMPLES: dict[str, Generator] = {
    "credit-default": credit_default,
    "product-category": product_category,
    "house-price": house_price,
}


def generate(
    model: str,
    n: int = 10_000,
    *,
    seed: int = 0,
    drift: float = 0.0,
    labeled: bool = True,
    start: pd.Timestamp | str | None = None,
    span_hours: float = 24.0,
) -> pd.DataFrame:
    """Rows for one of the example models (see :data:`EXAMPLES`)."""
    try:
        generator = EXAMPLES[model]
    except KeyError:
        raise KeyError(f"no example dataset '{model}'; choose one of {sorted(EXAMPLES)}") from None
    return generator(n, seed=seed, drift=drift, labeled=labeled, start=start, span_hours=span_hours)
