"""Narrow an optional the test knows is set, failing the test (never a silent cast) when it is not."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value`` itself, typed without ``None``: for places an ``assert ... is not None`` cannot reach."""
    assert value is not None
    return value
