"""Every report page in a real browser: headless Chromium renders it to a PNG that is not blank,
and the DOM it builds has the verdict banner, the feature rows and the SVG charts, with an
injected ``<script>`` column name present only as text.

Needs Debian's ``chromium`` (/usr/bin/chromium). Without it these tests skip, unless
``STEWARD_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from modelsteward.reporting import (
    render_batch_report,
    render_drift_timeline,
    render_governance_report,
    render_model_card,
    render_window_report,
)
from stewardtools.report_examples import (
    HOSTILE_NAME,
    example_batch_report,
    example_governance_report,
    example_model_card,
    example_timeline,
    example_window_report,
)
from stewardtools.screenshot import dump_dom, find_chromium, png_stats, screenshot

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 2000


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        reason = "headless Chromium not installed (apt-get install chromium)"
        if os.environ.get("STEWARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STEWARD_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return binary


class _Dom(HTMLParser):
    """Tags (with attributes) and text of the DOM Chromium serialised."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def count(self, tag: str, css_class: str | None = None) -> int:
        return sum(
            1
            for name, attrs in self.tags
            if name == tag and (css_class is None or css_class in (attrs.get("class") or "").split())
        )


def load(html_path: Path) -> tuple[str, _Dom]:
    dom_text = dump_dom(html_path)
    assert dom_text, "chromium --dump-dom returned nothing"
    dom = _Dom()
    dom.feed(dom_text)
    dom.close()
    return dom_text, dom


HOSTILE_BATCH = example_batch_report(hostile=True)
PAGES: dict[str, Callable[[], str]] = {
    "batch_report": lambda: render_batch_report(HOSTILE_BATCH),
    "window_report": lambda: render_window_report(example_window_report()),
    "drift_timeline": lambda: render_drift_timeline(example_timeline()),
    "model_card": lambda: render_model_card(example_model_card()),
    "governance_report": lambda: render_governance_report(example_governance_report()),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_to_a_picture_that_is_not_blank(name: str, chromium: str, tmp_path: Path) -> None:
    html_path = tmp_path / f"{name}.html"
    html_path.write_text(PAGES[name](), encoding="utf-8")
    png_path = tmp_path / f"{name}.png"
    assert screenshot(html_path, png_path, width=WIDTH, height=HEIGHT), "chromium did not write a screenshot"
    stats = png_stats(png_path)
    assert (stats.width, stats.height) == (WIDTH, HEIGHT)
    # Text, badges, bars and charts in several colours: a blank or error page has a handful.
    assert stats.distinct_colours >= 150, stats
    assert stats.non_background_share >= 0.15, stats
    assert stats.non_white_share >= 0.02, stats


def test_batch_report_dom_has_banner_rows_charts_and_no_live_injection(chromium: str, tmp_path: Path) -> None:
    html_path = tmp_path / "batch.html"
    html_path.write_text(PAGES["batch_report"](), encoding="utf-8")
    dom_text, dom = load(html_path)

    banners = [attrs for tag, attrs in dom.tags if attrs.get("id") == "verdict"]
    assert len(banners) == 1 and "banner-bad" in (banners[0].get("class") or "")
    assert "Drift and data quality problems" in "".join(dom.text)

    features = HOSTILE_BATCH.features
    assert dom.count("tr", "feature-row") == len(features)
    assert dom.count("svg", "chart-hist") + dom.count("svg", "chart-cat") == len(features)
    assert dom.count("svg", "chart-score") >= sum(1 for f in features if f.score is not None)

    # the label-free estimate beside the realized value: one interval chart per metric and variant
    assert HOSTILE_BATCH.performance is not None
    performance = HOSTILE_BATCH.performance.variants
    assert dom.count("svg", "chart-interval") == sum(len(v.metrics) for v in performance)
    text = re.sub(r"\s+", " ", "".join(dom.text))
    assert "Model performance: estimate and realized" in text and "Estimate not trusted" in text

    # The injected name is text in the DOM, never an element: no script or img element exists at all.
    assert dom.count("script") == 0 and dom.count("img") == 0
    assert HOSTILE_NAME not in dom_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom_text
    assert HOSTILE_NAME in "".join(dom.text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("window_report", {"svg": 8, "text": "Window drift & quality report"}),
        ("drift_timeline", {"svg": 8, "text": "Estimated ROC AUC over time, and realized"}),
        ("model_card", {"svg": 1, "text": "Promotion gate evidence"}),
        ("governance_report", {"svg": 0, "text": "2 of 10 checks failed"}),
    ],
)
def test_other_pages_dom(name: str, expected: dict[str, Any], chromium: str, tmp_path: Path) -> None:
    html_path = tmp_path / f"{name}.html"
    html_path.write_text(PAGES[name](), encoding="utf-8")
    _, dom = load(html_path)
    assert sum(1 for _, attrs in dom.tags if attrs.get("id") == "verdict") == 1
    assert dom.count("svg") >= expected["svg"]
    text = re.sub(r"\s+", " ", "".join(dom.text))
    assert expected["text"] in text
    assert dom.count("script") == 0
