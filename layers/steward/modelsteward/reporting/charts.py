"""Inline SVG charts for the reports: small, dependency-free, escaped.

Every function returns an ``<svg>`` element (no ``xmlns`` needed inline in HTML, so the page
carries no URL at all) with a ``role="img"`` and an ``aria-label``; every text and ``<title>``
tooltip goes through :func:`~modelsteward.reporting.kit.esc`. Colours match the page CSS:
reference grey, current blue, threshold red and dashed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .kit import as_float, esc, fmt_number, fmt_percent, parse_time

REF = "#a3adb8"
CUR = "#2563eb"
OK = "#35a162"
WARN = "#e0a100"
BAD = "#d64545"
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e9ef"

SEVERITY_COLOURS = {"none": OK, "ok": OK, "warn": WARN, "drift": BAD, "insufficient_data": MUTED}


def _f(value: float) -> str:
    """Compact coordinates."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))


def _shares(counts: Sequence[Any]) -> list[float]:
    numbers = [max(as_float(c) or 0.0, 0.0) for c in counts]
    total = sum(numbers)
    return [n / total if total else 0.0 for n in numbers]


def _edge_label(value: Any, *, lower: bool = False) -> str:
    """An edge as text; a missing or infinite edge is an open end."""
    number = as_float(value)
    if number is None:
        negative = lower if value is None else (isinstance(value, (int, float)) and value < 0)
        return "\u2212\u221e" if negative else "\u221e"
    return fmt_number(number, 3)


def _empty_chart(width: int, height: int, text: str) -> str:
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(text)}"><rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" '
        f'fill="#fafbfc" stroke="{GRID}" rx="4"/><text x="{width / 2}" y="{height / 2 + 4}" '
        f'text-anchor="middle" font-size="11" fill="{MUTED}">{esc(text)}</text></svg>'
    )


def _bin_layout(edges: list[Any], bins: int) -> list[float] | None:
    """Bin widths in value units when the edges allow a true-scale histogram, else None.

    Open ends (missing or infinite outer edges) borrow the width of their neighbour, and outer
    bins are drawn at most 1.5x the widest inner bin. Degenerate bins (zero width, or widths 60x
    apart) fall back to equal-width drawing by index.
    """
    if len(edges) != bins + 1 or bins < 2:
        return None
    values = [as_float(e) for e in edges]
    if any(v is None for v in values[1:-1]):
        return None
    inner = [v for v in values[1:-1] if v is not None]
    if len(inner) >= 2:
        first = values[0] if values[0] is not None else inner[0] - (inner[1] - inner[0])
        last = values[-1] if values[-1] is not None else inner[-1] - (inner[-2] - inner[-1])
    elif values[0] is not None and values[-1] is not None:
        first, last = values[0], values[-1]
    else:
        return None
    points = [first, *inner, last]
    widths = [b - a for a, b in itertools.pairwise(points)]
    if min(widths) <= 0 or max(widths) / min(widths) > 60:
        return None
    if bins > 2:  # long open tails would squeeze the body: draw them at most 1.5x the widest inner bin
        widest = max(widths[1:-1])
        widths[0] = min(widths[0], 1.5 * widest)
        widths[-1] = min(widths[-1], 1.5 * widest)
    return widths


# long: the SVG geometry of one chart: axes, bars, labels
def histogram_pair(
    reference: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    *,
    width: int = 260,
    height: int = 78,
    label: str = "",
) -> str:
    """Paired bars per numeric bin: reference (grey) next to current (blue).

    When the bin edges allow it the x axis is true to scale and bar heights are densities
    (share / bin width), so equal-frequency baseline bins still show the distribution's shape;
    otherwise bins are drawn equally wide with heights = shares. Each bin's tooltip gives its
    range and both shares.
    """
    ref = reference or {}
    cur = current or {}
    ref_counts = list(ref.get("counts") or [])
    cur_counts = list(cur.get("counts") or [])
    edges = list(ref.get("edges") or cur.get("edges") or [])
    bins = max(len(ref_counts), len(cur_counts))
    if bins == 0:
        return _empty_chart(width, height, "no distribution")
    ref_shares = _shares(ref_counts + [0] * (bins - len(ref_counts)))
    cur_shares = _shares(cur_counts + [0] * (bins - len(cur_counts)))
    widths = _bin_layout(edges, bins)
    unit = widths or [1.0] * bins
    ref_h = [s / w for s, w in zip(ref_shares, unit, strict=True)]
    cur_h = [s / w for s, w in zip(cur_shares, unit, strict=True)]
    top = max([*ref_h, *cur_h, 1e-12])
    pad_l, pad_r, pad_t, pad_b = 2, 2, 4, 16
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    scale = plot_w / sum(unit)
    base_y = pad_t + plot_h
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart-hist" aria-label="{esc(label or "distribution")}: reference vs current">',
        f'<line x1="{pad_l}" y1="{_f(base_y + 0.5)}" x2="{width - pad_r}" y2="{_f(base_y + 0.5)}" '
        f'stroke="#c5ced8"/>',
    ]
    left = float(pad_l)
    for i in range(bins):
        slot = unit[i] * scale
        gap = min(max(slot * 0.12, 0.6), 3.0)
        bar = max((slot - gap) / 2, 0.4)
        x0 = left + gap / 2
        low = edges[i] if i < len(edges) else None
        high = edges[i + 1] if i + 1 < len(edges) else None
        rng = f"[{_edge_label(low, lower=True)}, {_edge_label(high)})" if edges else f"bin {i + 1}"
        tip = f"{rng}: reference {fmt_percent(ref_shares[i])}, current {fmt_percent(cur_shares[i])}"
        hr = ref_h[i] / top * plot_h
        hc = cur_h[i] / top * plot_h
        parts.append(
            f"<g><title>{esc(tip)}</title>"
            f'<rect x="{_f(left)}" y="{pad_t}" width="{_f(slot)}" height="{_f(plot_h)}" fill="transparent"/>'
            f'<rect x="{_f(x0)}" y="{_f(base_y - hr)}" width="{_f(bar)}" height="{_f(hr)}" fill="{REF}"/>'
            f'<rect x="{_f(x0 + bar)}" y="{_f(base_y - hc)}" width="{_f(bar)}" height="{_f(hc)}" '
            f'fill="{CUR}"/></g>'
        )
        left += slot
    finite = [e for e in edges if as_float(e) is not None]
    if finite:
        parts.append(
            f'<text x="{pad_l}" y="{height - 3}" font-size="10" fill="{MUTED}">{esc(_edge_label(finite[0]))}'
            f"</text>"
            f'<text x="{width - pad_r}" y="{height - 3}" font-size="10" fill="{MUTED}" text-anchor="end">'
            f"{esc(_edge_label(finite[-1]))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def category_pair(
    reference: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    *,
    top_n: int = 5,
    width: int = 260,
    label: str = "",
) -> str:
    """Paired horizontal bars per category: the top-N by share (either side) plus "other".

    Categories only seen in the current data count like any other (that is what drift looks like).
    """
    ref = _category_shares(reference)
    cur = _category_shares(current)
    names = list(dict.fromkeys([*ref, *cur]))
    if not names:
        return _empty_chart(width, 40, "no categories")
    names.sort(key=lambda n: max(ref.get(n, 0.0), cur.get(n, 0.0)), reverse=True)
    cut = top_n + 1 if len(names) == top_n + 1 else top_n  # never an "other" of one category
    shown = names[:cut]
    rest = names[cut:]
    rows: list[tuple[str, float, float, str]] = [(n, ref.get(n, 0.0), cur.get(n, 0.0), n) for n in shown]
    if rest:
        rows.append(
            (
                f"other ({len(rest)})",
                sum(ref.get(n, 0.0) for n in rest),
                sum(cur.get(n, 0.0) for n in rest),
                f"{len(rest)} other categories",
            )
        )
    row_h, bar_h, label_w, value_w = 15, 5.5, 78, 38
    height = len(rows) * row_h + 4
    plot_w = width - label_w - value_w
    top = max([v for _, r, c, _ in rows for v in (r, c)] + [1e-12])
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart-cat" aria-label="{esc(label or "categories")}: reference vs current">'
    ]
    for i, (name, r, c, full) in enumerate(rows):
        y = 2 + i * row_h
        short = name if len(name) <= 12 else name[:11] + "\u2026"
        tip = f"{full}: reference {fmt_percent(r)}, current {fmt_percent(c)}"
        parts.append(
            f"<g><title>{esc(tip)}</title>"
            f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="transparent"/>'
            f'<text x="{label_w - 6}" y="{_f(y + row_h - 4)}" font-size="10.5" fill="{INK}" '
            f'text-anchor="end">{esc(short)}</text>'
            f'<rect x="{label_w}" y="{_f(y + 1.5)}" width="{_f(max(r / top * plot_w, 0.5))}" '
            f'height="{bar_h}" fill="{REF}"/>'
            f'<rect x="{label_w}" y="{_f(y + 1.5 + bar_h)}" width="{_f(max(c / top * plot_w, 0.5))}" '
            f'height="{bar_h}" fill="{CUR}"/>'
            f'<text x="{width}" y="{_f(y + row_h - 4)}" font-size="10" fill="{MUTED}" '
            f'text-anchor="end">{esc(fmt_percent(c, 0))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _category_shares(hist: Mapping[str, Any] | None) -> dict[str, float]:
    if not hist:
        return {}
    categories = hist.get("categories")
    counts = hist.get("counts")
    if isinstance(counts, Mapping):  # {"category": count}
        pairs = [(str(k), v) for k, v in counts.items()]
    elif isinstance(categories, Mapping):
        pairs = [(str(k), v) for k, v in categories.items()]
    else:
        pairs = [(str(k), v) for k, v in zip(categories or [], counts or [], strict=False)]
    shares = _shares([v for _, v in pairs])
    out: dict[str, float] = {}
    for (name, _), share in zip(pairs, shares, strict=True):
        out[name] = out.get(name, 0.0) + share
    return out


def score_bar(
    score: Any,
    threshold: Any,
    *,
    warn_threshold: Any = None,
    severity: str = "none",
    width: int = 130,
    height: int = 12,
) -> str:
    """A bar of a drift score against its threshold (dark tick) and warn threshold (light tick)."""
    value = as_float(score)
    limit = as_float(threshold)
    warn = as_float(warn_threshold)
    if value is None:
        return _empty_chart(width, height + 2, "no score") if height >= 12 else ""
    scale = max(value, (limit or 0) * 1.6, (warn or 0) * 1.6, 1e-9) * 1.08
    colour = SEVERITY_COLOURS.get(severity, CUR)
    bar_w = max(value / scale * width, 1.5)
    tip = f"score {fmt_number(value)}" + (f" vs threshold {fmt_number(limit)}" if limit is not None else "")
    parts = [
        f'<svg width="{width}" height="{height + 4}" viewBox="0 0 {width} {height + 4}" role="img" '
        f'class="chart-score" aria-label="{esc(tip)}"><title>{esc(tip)}</title>'
        f'<rect x="0" y="2" width="{width}" height="{height}" rx="3" fill="#edf0f4"/>'
        f'<rect x="0" y="2" width="{_f(bar_w)}" height="{height}" rx="3" fill="{colour}"/>'
    ]
    if warn is not None and warn > 0:
        x = warn / scale * width
        parts.append(
            f'<line x1="{_f(x)}" y1="0" x2="{_f(x)}" y2="{height + 4}" stroke="{WARN}" stroke-width="1.5"/>'
        )
    if limit is not None:
        x = limit / scale * width
        parts.append(
            f'<line x1="{_f(x)}" y1="0" x2="{_f(x)}" y2="{height + 4}" stroke="{INK}" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(
    values: Sequence[Any],
    *,
    threshold: Any = None,
    width: int = 150,
    height: int = 30,
    label: str = "",
) -> str:
    """A tiny line of values in order; the threshold dashed; points over it marked red."""
    numbers = [as_float(v) for v in values]
    present = [v for v in numbers if v is not None]
    if not present:
        return _empty_chart(width, height, "no data")
    limit = as_float(threshold)
    top = max([*present, limit or 0.0]) * 1.1 or 1.0
    pad = 3
    n = len(numbers)

    def x(i: int) -> float:
        return pad + (i / (n - 1) if n > 1 else 0.5) * (width - 2 * pad)

    def y(v: float) -> float:
        return pad + (1 - v / top) * (height - 2 * pad)

    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart-spark" aria-label="{esc(label or "trend")}">'
    ]
    if limit is not None:
        parts.append(
            f'<line x1="0" y1="{_f(y(limit))}" x2="{width}" y2="{_f(y(limit))}" stroke="{BAD}" '
            f'stroke-width="1" stroke-dasharray="3 2"/>'
        )
    segments: list[list[str]] = [[]]
    for i, v in enumerate(numbers):
        if v is None:
            segments.append([])
        else:
            segments[-1].append(f"{_f(x(i))},{_f(y(v))}")
    for seg in segments:
        if len(seg) > 1:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{CUR}" stroke-width="1.6" '
                f'stroke-linejoin="round"/>'
            )
    for i, v in enumerate(numbers):
        if v is None:
            continue
        over = limit is not None and v > limit
        last = i == n - 1
        if over or last or n == 1:
            parts.append(
                f'<circle cx="{_f(x(i))}" cy="{_f(y(v))}" r="{2.6 if last else 2}" '
                f'fill="{BAD if over else CUR}"><title>{esc(fmt_number(v))}</title></circle>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        candidate = step * 10**exponent
        if candidate >= value - 1e-12:
            return float(candidate)
    return float(10 ** (exponent + 1))


#: px between two x labels, or two captions, at the least
LABEL_GAP = 14.0
#: a pause between two points this many times the usual (median) gap, and at least MIN_PAUSE, is
#: marked on a one-slot-per-point axis; a run of gaps this many times shorter than usual is a burst
CADENCE_FACTOR = 4.0
MIN_PAUSE = dt.timedelta(minutes=10)
MIN_BURST = 3  # points
MAX_MARKS = 12


def _text_width(text: str, size: float = 12) -> float:
    """About how wide ``text`` renders in the page's sans-serif font (digits are ~0.62 em)."""
    return 0.62 * size * len(text)


def order_ticks(
    times: Sequence[dt.datetime | None], xs: Sequence[float], *, left: float, right: float
) -> list[tuple[float, float, str]]:
    """(tick x, text x, text) of the labels under an axis of one slot per point, oldest left.

    A label where the date changes from the point before (the day and hour when the points span
    less than three days), so a burst of batches sits under one label instead of one each. The text
    is centred on its tick, shifted inside the plot at the edges, and kept where it does not touch
    its neighbour, the newest first. Empty when a point has no time."""
    if not times or any(t is None for t in times):
        return []
    stamps = [_utc(t) for t in times if t is not None]
    daily = epoch(max(stamps)) - epoch(min(stamps)) >= 3 * 86400
    fmt, key = ("%Y-%m-%d", "%Y-%m-%d") if daily else ("%m-%d %H:%M", "%Y-%m-%d %H")
    changes = [
        i for i in range(len(stamps)) if i == 0 or stamps[i].strftime(key) != stamps[i - 1].strftime(key)
    ]
    kept: list[tuple[float, float, str]] = []
    for i in reversed(changes):
        text = stamps[i].strftime(fmt)
        half = _text_width(text) / 2
        centre = min(max(xs[i], left + half), right - half)
        if not kept or kept[-1][1] - centre >= 2 * half + LABEL_GAP:
            kept.append((xs[i], centre, text))
    return kept[::-1]


@dataclass(frozen=True)
class Cadence:
    """What an axis of one slot per point hides about time: pauses and bursts."""

    pauses: list[tuple[int, str]]  # (i, length): between point i and i + 1
    bursts: list[tuple[int, int, str]]  # (first, last, span): consecutive points much closer than usual


def cadence(times: Sequence[dt.datetime | None]) -> Cadence:
    """Pauses ``CADENCE_FACTOR`` times longer than the usual (median) gap, and runs of at least
    ``MIN_BURST`` points whose gaps are all that many times shorter: the longest ``MAX_MARKS`` each."""
    if len(times) < 3 or any(t is None for t in times):
        return Cadence([], [])
    stamps = [epoch(t) for t in times if t is not None]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    usual = sorted(gaps)[len(gaps) // 2]
    limit = max(CADENCE_FACTOR * usual, MIN_PAUSE.total_seconds())
    found = sorted(((g, i) for i, g in enumerate(gaps) if g >= limit), reverse=True)[:MAX_MARKS]
    runs = []
    for a, b in _runs(gaps, usual / CADENCE_FACTOR):
        # a run's own cadence splits it again: a batch five hours before ten that came seconds apart
        # is not part of their burst, though five hours is short next to a daily cadence
        own = gaps[a:b]
        typical = sorted(own)[len(own) // 2]
        runs += [(a + c, a + d) for c, d in _runs(own, CADENCE_FACTOR * typical, inclusive=True)]
    bursts = sorted((r for r in runs if r[1] - r[0] + 1 >= MIN_BURST), key=lambda r: r[0] - r[1])[:MAX_MARKS]
    return Cadence(
        pauses=sorted((i, _duration(g)) for g, i in found),
        bursts=sorted((a, b, _duration(stamps[b] - stamps[a])) for a, b in bursts),
    )


def _runs(gaps: Sequence[float], limit: float, *, inclusive: bool = False) -> list[tuple[int, int]]:
    """(first point, last point) of each run of consecutive gaps under ``limit`` (or at it)."""
    runs: list[tuple[int, int]] = []
    for i, gap in enumerate(gaps):
        if gap > limit or (gap == limit and not inclusive):
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _cadence_marks(
    times: Sequence[dt.datetime | None],
    xs: Sequence[float],
    box: tuple[float, float, float, float],
    unit: str,
) -> list[str]:
    """The pauses (dotted lines) and bursts (shaded slots) of :func:`cadence`, each with a tooltip
    and, where it has room, a caption above the plot: the pauses first, the longest first. ``box``:
    the plot's left, top, right and bottom."""
    left, top, right, bottom = box
    found = cadence(times)
    slot = (xs[1] - xs[0]) if len(xs) > 1 else 0.0
    shapes: list[str] = []
    captions: list[tuple[float, str]] = []
    for i, length in found.pauses:
        mid = (xs[i] + xs[i + 1]) / 2
        shapes.append(
            f'<line class="pause" x1="{_f(mid)}" y1="{_f(top)}" x2="{_f(mid)}" y2="{_f(bottom)}" '
            f'stroke="#9aa5b1" stroke-width="1" stroke-dasharray="2 3"><title>{esc(f"pause of {length}")}'
            "</title></line>"
        )
        captions.append((mid, length))
    for a, b, span in found.bursts:
        x0, x1 = max(xs[a] - slot / 2, left), min(xs[b] + slot / 2, right)
        text = f"{b - a + 1} {unit} in {span}"
        shapes.append(
            f'<rect class="burst" x="{_f(x0)}" y="{_f(top)}" width="{_f(x1 - x0)}" '
            f'height="{_f(bottom - top)}" fill="#f0f3f7"><title>{esc(text)}</title></rect>'
        )
        captions.append(((x0 + x1) / 2, text))
    kept: list[tuple[float, float]] = []
    for centre, text in captions:
        half = _text_width(text, 11) / 2
        if all(abs(centre - c) >= half + h + LABEL_GAP for c, h in kept):
            kept.append((centre, half))
            shapes.append(
                f'<text class="cadence" x="{_f(centre)}" y="{_f(top - 8)}" font-size="11" fill="{MUTED}" '
                f'text-anchor="middle">{esc(text)}</text>'
            )
    return shapes


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def _edge_anchor(i: int, count: int) -> str:
    """Text anchor of the i-th of ``count`` evenly picked labels: the outer ones stay inside."""
    if count > 1 and i in (0, count - 1):
        return "start" if i == 0 else "end"
    return "middle"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: a percent axis's gridline steps (four of them up to the top)
PERCENT_QUARTERS = (0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25)


def _percent_digits(values: Sequence[float]) -> int:
    """0 when every value is a whole percent (25%), else 1 (12.5%, not a rounded 12%)."""
    return 0 if all(abs(v * 100 - round(v * 100)) < 1e-6 for v in values) else 1


# long: the SVG geometry of one chart: axes, steps, points, labels
def line_chart(
    points: Sequence[Mapping[str, Any]],
    *,
    value_key: str = "value",
    threshold_key: str = "threshold",
    time_key: str = "at",
    label_key: str = "label",
    tone_key: str = "tone",
    width: int = 1100,
    height: int = 300,
    percent: bool = True,
    title: str = "",
    unit: str = "points",
) -> str:
    """A line over time with the threshold (dashed red, a step line when it changes).

    One slot per point, oldest left, whatever the time between them, so a burst of points stays as
    readable as a daily cadence (verdicts count batches, not hours); labels name the date where it changes,
    dotted lines mark pauses much longer than the usual gap and shaded slots bursts of ``unit``
    much closer than usual, with their length (:func:`cadence`).
    Points over the threshold are red; every point has a tooltip (time, label, value).
    """
    rows = [p for p in points if as_float(p.get(value_key)) is not None]
    if not rows:
        return _empty_chart(width, 80, "no data points yet")
    times = [parse_time(p.get(time_key)) for p in rows]
    values = [as_float(p.get(value_key)) or 0.0 for p in rows]
    limits = [as_float(p.get(threshold_key)) for p in rows]
    # an axis of one slot per point keeps a row above the plot for its pause and burst captions
    pad_l, pad_r, pad_t, pad_b = 52, 18, 30, 40
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    highest = max([*values, *(v for v in limits if v is not None)]) * 1.12
    top = _nice_ceiling(highest)
    if percent and max(values) <= 1.0:
        # quarters that are round percents (15%, 30%, 45%, 60%), not 12.5% shown as "12%"
        top = next((4 * q for q in PERCENT_QUARTERS if 4 * q >= highest - 1e-12), 1.0)
    n = len(rows)
    xs = [pad_l + (i / (n - 1) if n > 1 else 0.5) * plot_w for i in range(n)]

    def y(v: float) -> float:
        return pad_t + (1 - v / top) * plot_h

    aria = title or "values over time"
    parts = [
        f'<svg class="chart-wide chart-line" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(aria)}" preserveAspectRatio="xMidYMid meet">'
    ]
    grid = [top * k / 4 for k in range(5)]
    digits = _percent_digits(grid)
    for v in grid:
        yy = y(v)
        text = fmt_percent(v, digits) if percent else fmt_number(v)
        parts.append(
            f'<line x1="{pad_l}" y1="{_f(yy)}" x2="{width - pad_r}" y2="{_f(yy)}" stroke="{GRID}"/>'
            f'<text x="{pad_l - 8}" y="{_f(yy + 4)}" font-size="12" fill="{MUTED}" text-anchor="end">'
            f"{esc(text)}</text>"
        )
    axis_y = pad_t + plot_h
    parts += _cadence_marks(times, xs, (pad_l, pad_t, width - pad_r, axis_y), unit)
    ticks = order_ticks(times, xs, left=pad_l, right=width - pad_r)
    labels = [(at, pos, words, "middle") for at, pos, words in ticks]
    parts += [_x_label(label, axis_y) for label in labels]
    parts.append(
        f'<line x1="{pad_l}" y1="{_f(axis_y)}" x2="{width - pad_r}" y2="{_f(axis_y)}" stroke="#9aa5b1"/>'
    )
    # threshold: a step line over the points that have one
    steps: list[str] = []
    for i, limit in enumerate(limits):
        if limit is None:
            continue
        x_start = xs[i] if i > 0 else pad_l
        x_end = xs[i + 1] if i + 1 < len(xs) else width - pad_r
        steps.append(f"{_f(x_start)},{_f(y(limit))} {_f(x_end)},{_f(y(limit))}")
    if steps:
        parts.append(
            f'<polyline class="threshold" points="{" ".join(steps)}" fill="none" stroke="{BAD}" '
            f'stroke-width="1.8" stroke-dasharray="6 4"/>'
        )
        first_limit = next(v for v in limits if v is not None)
        text = "threshold " + (
            fmt_percent(first_limit, _percent_digits([first_limit])) if percent else fmt_number(first_limit)
        )
        parts.append(
            f'<text x="{pad_l + 6}" y="{_f(y(first_limit) - 6)}" font-size="12" fill="{BAD}" '
            f'font-weight="600">{esc(text)}</text>'
        )
    line = " ".join(f"{_f(xx)},{_f(y(v))}" for xx, v in zip(xs, values, strict=True))
    if len(rows) > 1:
        area = f"{_f(xs[0])},{_f(y(0))} {line} {_f(xs[-1])},{_f(y(0))}"
        parts.append(f'<polygon points="{area}" fill="{CUR}" fill-opacity="0.07"/>')
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{CUR}" stroke-width="2.2" '
            f'stroke-linejoin="round"/>'
        )
    radius = 4.5 if len(rows) <= 40 else 3
    for i, row in enumerate(rows):
        v = values[i]
        limit = limits[i]
        over = limit is not None and v >= limit
        tone = row.get(tone_key)
        fill = BAD if over or tone == "bad" else (WARN if tone == "warn" else CUR)
        stamp = times[i]
        when = stamp.strftime("%Y-%m-%d %H:%M") if stamp is not None else str(row.get(time_key) or "")
        value_text = fmt_percent(v) if percent else fmt_number(v)
        tip = " \u00b7 ".join(x for x in (when, str(row.get(label_key) or ""), value_text) if x)
        parts.append(
            f'<circle class="point" cx="{_f(xs[i])}" cy="{_f(y(v))}" r="{radius}" fill="{fill}" '
            f'stroke="#fff" stroke-width="1.5"><title>{esc(tip)}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


def epoch(value: dt.datetime) -> float:
    """Seconds since the epoch; naive times are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


STACK_COLOURS = ("#2563eb", "#0d9488", "#7c3aed", "#d97706", "#db2777", "#4b5563", "#65a30d", "#0891b2")


def stack_colour(index: int) -> str:
    return STACK_COLOURS[index % len(STACK_COLOURS)]


def stacked_bar(
    parts: Sequence[tuple[str, float]], *, width: int = 560, height: int = 16, unit: str = ""
) -> str:
    """One horizontal bar split into labelled parts (e.g. processing stages); tooltips per part."""
    values = [(label, max(as_float(v) or 0.0, 0.0)) for label, v in parts]
    total = sum(v for _, v in values)
    if total <= 0:
        return _empty_chart(width, height + 4, "no data")
    out = [
        f'<svg class="chart-stack" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{esc("; ".join(f"{k} {fmt_number(v)}{unit}" for k, v in values))}">'
    ]
    x = 0.0
    for i, (label, value) in enumerate(values):
        w = value / total * width
        out.append(
            f'<rect x="{_f(x)}" y="0" width="{_f(max(w - 1, 0))}" height="{height}" '
            f'fill="{stack_colour(i)}"><title>{esc(f"{label}: {fmt_number(value)}{unit}")}</title></rect>'
        )
        x += w
    out.append("</svg>")
    return "".join(out)


def metric_bars(
    rows: Sequence[tuple[str, Any]],
    *,
    reference: Any = None,
    reference_label: str = "overall",
    width: int = 560,
    label: str = "",
) -> str:
    """Horizontal bars of one metric per segment, with the overall value as a dashed line.

    The axis starts near the smallest value (not at 0) so differences of a few points show;
    every bar carries its value as text, so nothing is read off the axis alone.
    """
    values = [(str(name), as_float(v)) for name, v in rows]
    present = [v for _, v in values if v is not None]
    ref = as_float(reference)
    if not present:
        return _empty_chart(width, 40, "no values")
    lo = min([*present, *([ref] if ref is not None else [])])
    hi = max([*present, *([ref] if ref is not None else [])])
    span = (hi - lo) or abs(hi) or 1.0
    floor = max(lo - span * 0.6, 0.0) if lo >= 0 else lo - span * 0.6
    label_w, value_w, row_h = 130, 70, 22
    plot_w = width - label_w - value_w
    height = len(values) * row_h + 22

    def x(v: float) -> float:
        return label_w + (v - floor) / ((hi - floor) or 1.0) * plot_w

    out = [
        f'<svg class="chart-metric" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(label or "metric per segment")}">'
    ]
    for i, (name, value) in enumerate(values):
        y = 4 + i * row_h
        short = name if len(name) <= 20 else name[:19] + "\u2026"
        worse = ref is not None and value is not None and value < ref
        out.append(
            f"<g><title>{esc(f'{name}: {fmt_number(value, 4)}')}</title>"
            f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" fill="{INK}" text-anchor="end">'
            f"{esc(short)}</text>"
        )
        if value is not None:
            out.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{_f(max(x(value) - label_w, 1))}" '
                f'height="{row_h - 8}" '
                f'rx="2" fill="{CUR}" fill-opacity="{0.55 if worse else 0.9}"/>'
                f'<text x="{width - 2}" y="{y + 14}" font-size="12" fill="{INK}" text-anchor="end">'
                f"{esc(fmt_number(value, 4))}</text>"
            )
        out.append("</g>")
    if ref is not None:
        rx = x(ref)
        out.append(
            f'<line x1="{_f(rx)}" y1="0" x2="{_f(rx)}" y2="{height - 16}" stroke="{INK}" stroke-width="1.5" '
            f'stroke-dasharray="4 3"/><text x="{_f(rx)}" y="{height - 3}" font-size="11" fill="{MUTED}" '
            f'text-anchor="middle">{esc(f"{reference_label} {fmt_number(ref, 4)}")}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _realized_dot(
    cx: float, cy: float, r: float, realized: float, lower: float | None, upper: float | None, title: str = ""
) -> str:
    """The realized value's dot: green inside the band (or without one), red outside."""
    inside = lower is None or upper is None or lower <= realized <= upper
    tip = f"<title>{esc(title)}</title>" if title else ""
    return (
        f'<circle class="realized" cx="{_f(cx)}" cy="{_f(cy)}" r="{r}" fill="{OK if inside else BAD}" '
        f'stroke="#fff" stroke-width="1.5">{tip}</circle>'
    )


def interval_bar(
    estimate: Any,
    lower: Any,
    upper: Any,
    realized: Any = None,
    *,
    width: int = 240,
    height: int = 28,
    label: str = "",
) -> str:
    """One estimate as a person reads it: the 95% band as a bar, the estimate a blue tick, the
    realized value (once labels came) a dot, green inside the band and red outside. The axis spans
    the band with room either side, so a realized value far off still shows where it fell."""
    est, lo, hi, real = (as_float(v) for v in (estimate, lower, upper, realized))
    if est is None:
        return _empty_chart(width, height, "no estimate")
    known = [v for v in (est, lo, hi, real) if v is not None]
    span = (max(known) - min(known)) or abs(est) or 1.0
    left, right = min(known) - span * 0.15, max(known) + span * 0.15
    pad = 6

    def x(v: float) -> float:
        return pad + (v - left) / ((right - left) or 1.0) * (width - 2 * pad)

    mid = height / 2
    tip = f"estimate {fmt_number(est, 4)}"
    if lo is not None and hi is not None:
        tip += f", 95% band {fmt_number(lo, 4)} to {fmt_number(hi, 4)}"
    if real is not None:
        tip += f", realized {fmt_number(real, 4)}"
    out = [
        f'<svg class="chart-interval" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(label or tip)}"><title>{esc(tip)}</title>'
        f'<line x1="{pad}" y1="{_f(mid)}" x2="{width - pad}" y2="{_f(mid)}" stroke="{GRID}"/>'
    ]
    if lo is not None and hi is not None:
        out.append(
            f'<rect class="band" x="{_f(x(lo))}" y="{_f(mid - 6)}" width="{_f(max(x(hi) - x(lo), 1))}" '
            f'height="12" rx="3" fill="{CUR}" fill-opacity="0.18" stroke="{CUR}" stroke-opacity="0.5"/>'
        )
    out.append(
        f'<line class="estimate" x1="{_f(x(est))}" y1="{_f(mid - 9)}" x2="{_f(x(est))}" '
        f'y2="{_f(mid + 9)}" stroke="{CUR}" stroke-width="2.5"/>'
    )
    if real is not None:
        out.append(_realized_dot(x(real), mid, 4.5, real, lo, hi))
    out.append("</svg>")
    return "".join(out)


def band_chart(
    points: Sequence[Mapping[str, Any]], *, width: int = 1100, height: int = 260, title: str = ""
) -> str:
    """Estimate over time (blue line) inside its 95% band (shaded), with the realized value of each
    point that has labels (dots: green inside the band, red outside). Evenly spaced points, oldest
    left; each point keys ``estimate``, ``lower``, ``upper``, ``realized``, ``label``."""
    rows = [p for p in points if as_float(p.get("estimate")) is not None]
    if not rows:
        return _empty_chart(width, 80, "no estimates yet")
    values = [
        v
        for p in rows
        for v in (as_float(p.get(k)) for k in ("estimate", "lower", "upper", "realized"))
        if v is not None
    ]
    lo, hi = min(values), max(values)
    span = (hi - lo) or abs(hi) or 1.0
    bottom, top = lo - span * 0.1, hi + span * 0.1
    pad_l, pad_r, pad_t, pad_b = 52, 18, 14, 26  # the line chart's sides: one page, slots aligned
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(rows)
    xs = [pad_l + (i / (n - 1) if n > 1 else 0.5) * plot_w for i in range(n)]

    def y(v: float) -> float:
        return pad_t + (1 - (v - bottom) / ((top - bottom) or 1.0)) * plot_h

    out = [
        f'<svg class="chart-wide chart-band" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title or "estimate, band and realized value over time")}" '
        'preserveAspectRatio="xMidYMid meet">'
    ]
    for k in range(5):
        v = bottom + (top - bottom) * k / 4
        out.append(
            f'<line x1="{pad_l}" y1="{_f(y(v))}" x2="{width - pad_r}" y2="{_f(y(v))}" stroke="{GRID}"/>'
            f'<text x="{pad_l - 8}" y="{_f(y(v) + 4)}" font-size="12" fill="{MUTED}" text-anchor="end">'
            f"{esc(fmt_number(v, 3))}</text>"
        )
    banded = [
        (xs[i], as_float(p.get("lower")), as_float(p.get("upper")))
        for i, p in enumerate(rows)
        if as_float(p.get("lower")) is not None and as_float(p.get("upper")) is not None
    ]
    if len(banded) > 1:
        upper = " ".join(f"{_f(xx)},{_f(y(u))}" for xx, _, u in banded if u is not None)
        lower = " ".join(f"{_f(xx)},{_f(y(lw))}" for xx, lw, _ in reversed(banded) if lw is not None)
        out.append(f'<polygon class="band" points="{upper} {lower}" fill="{CUR}" fill-opacity="0.14"/>')
    out += _band_x_labels(rows, xs, pad_t + plot_h + 18, left=pad_l, right=width - pad_r)
    line = " ".join(f"{_f(xs[i])},{_f(y(as_float(p.get('estimate')) or 0.0))}" for i, p in enumerate(rows))
    if n > 1:
        out.append(f'<polyline points="{line}" fill="none" stroke="{CUR}" stroke-width="2.2"/>')
    for i, p in enumerate(rows):
        out += _band_marks(p, i, xs[i], y)
    out.append("</svg>")
    return "".join(out)


def _band_x_labels(
    rows: Sequence[Mapping[str, Any]], xs: Sequence[float], at_y: float, *, left: float, right: float
) -> list[str]:
    """The x labels under a band chart: where the date changes (:func:`order_ticks`), else up to
    six points' labels."""
    ticks = order_ticks([parse_time(r.get("at")) for r in rows], xs, left=left, right=right)
    labels = [(tick, x, text, "middle") for tick, x, text in ticks]
    if not labels:
        n = len(rows)
        picks = sorted({round(i * (n - 1) / 5) for i in range(6)}) if n > 1 else [0]
        labels = [(xs[i], xs[i], str(rows[i].get("label") or i + 1), _edge_anchor(i, n)) for i in picks]
    return [_x_label(label, at_y - 20, tick=False) for label in labels]


def _x_label(label: tuple[float, float, str, str], axis_y: float, *, tick: bool = True) -> str:
    """One x label (tick x, text x, text, anchor) 20 px under ``axis_y``, with its tick mark."""
    at, x, text, anchor = label
    text = text if len(text) <= 16 else text[:15] + "\u2026"
    mark = f'<line x1="{_f(at)}" y1="{_f(axis_y)}" x2="{_f(at)}" y2="{_f(axis_y + 5)}" stroke="#c5ced8"/>'
    return (mark if tick else "") + (
        f'<text x="{_f(x)}" y="{_f(axis_y + 20)}" font-size="12" fill="{MUTED}" '
        f'text-anchor="{anchor}">{esc(text)}</text>'
    )


def _band_marks(p: Mapping[str, Any], i: int, x: float, y: Callable[[float], float]) -> list[str]:
    """One point of a band chart: its estimate (with the band in its tooltip) and its realized dot."""
    est = as_float(p.get("estimate")) or 0.0
    lw, up, real = (as_float(p.get(k)) for k in ("lower", "upper", "realized"))
    when = str(p.get("label") or i + 1)
    tip = f"{when}: estimate {fmt_number(est, 4)}"
    if lw is not None and up is not None:
        tip += f" (band {fmt_number(lw, 4)} to {fmt_number(up, 4)})"
    out = [
        f'<circle class="estimate" cx="{_f(x)}" cy="{_f(y(est))}" r="3" fill="{CUR}">'
        f"<title>{esc(tip)}</title></circle>"
    ]
    if real is not None:
        out.append(_realized_dot(x, y(real), 5, real, lw, up, f"{when}: realized {fmt_number(real, 4)}"))
    return out
