"""The HTML reports: complete, self-contained, escaped, drawn from their typed records only, and right
about what they show (verdicts, order, numbers). No browser here: see tests/e2e/test_reports_in_browser.py."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import struct
import urllib.parse
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from modelsteward.domain.assessment_record import DatasetDrift, FeatureResult, Histogram
from modelsteward.domain.governance_report import ChainSummary, Finding, GovernanceReport, ModelAudit
from modelsteward.domain.model_card import Decision
from modelsteward.domain.report import BatchReport, Lineage, PiiColumnFinding, PiiSummary, SourceRef, Timings
from modelsteward.domain.timeline import DriftTimeline, TimelineFeature, TimelinePoint
from modelsteward.reporting import (
    charts,
    kit,
    render_batch_report,
    render_drift_timeline,
    render_governance_report,
    render_model_card,
    render_window_report,
)
from modelsteward.reporting.batch import CSV_COLUMNS
from stewardtools import screenshot
from stewardtools.report_examples import (
    FORMULA_NAME,
    HOSTILE_NAME,
    example_batch_report,
    example_governance_report,
    example_model_card,
    example_timeline,
    example_timeline_points,
    example_window_report,
)

# ---------------------------------------------------------------------------------------------
# helpers


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(document: str) -> _Collector:
    collector = _Collector()
    collector.feed(document)
    collector.close()
    return collector


def all_pages() -> dict[str, str]:
    return {
        "batch": render_batch_report(example_batch_report(hostile=True)),
        "window": render_window_report(example_window_report()),
        "timeline": render_drift_timeline(example_timeline()),
        "card": render_model_card(example_model_card()),
        "governance": render_governance_report(example_governance_report()),
    }


PAGES = all_pages()


def assert_self_contained(document: str, user_texts: tuple[str, ...] = ()) -> None:
    """No script, no external resource, no URL outside escaped user text."""
    assert document.startswith("<!DOCTYPE html>")
    assert document.rstrip().endswith("</html>")
    stripped = document
    for text in user_texts:
        stripped = stripped.replace(html.escape(text, quote=True), "")
    assert "http://" not in stripped and "https://" not in stripped
    parsed = parse(document)
    names = [tag for tag, _ in parsed.tags]
    assert "script" not in names
    assert "link" not in names and "iframe" not in names and "img" not in names and "object" not in names
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler attribute on <{tag}>"
            if name in ("src", "href", "xlink:href", "action", "formaction"):
                assert value is not None
                assert value.startswith("data:text/csv") or value.startswith("#"), (tag, name, value)


# ---------------------------------------------------------------------------------------------
# every page


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_is_one_self_contained_document(name: str) -> None:
    document = PAGES[name]
    assert_self_contained(document, user_texts=(FORMULA_NAME,))
    assert "Content-Security-Policy" in document and "default-src 'none'" in document
    assert document.count("<style>") == 1
    assert 'id="verdict"' in document  # every page opens with its verdict banner


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_svg_is_labelled_for_screen_readers(name: str) -> None:
    svgs = [attrs for tag, attrs in parse(PAGES[name]).tags if tag == "svg"]
    assert svgs or name == "governance"
    for attrs in svgs:
        assert attrs.get("role") == "img"
        assert attrs.get("aria-label")


# ---------------------------------------------------------------------------------------------
# escaping


def test_hostile_column_names_and_messages_only_appear_escaped() -> None:
    document = PAGES["batch"]
    assert HOSTILE_NAME not in document
    assert "<img src=x" not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(2)&gt;" in document
    assert "<b>a</b>" not in document  # a category name is text in the SVG too
    assert "&lt;b&gt;a&lt;/b&gt;" in document
    visible = "".join(parse(document).text)
    assert HOSTILE_NAME in visible  # shown to the reader as the literal text it is


def test_formula_cells_are_neutralised_in_tables_and_csv() -> None:
    document = PAGES["batch"]
    escaped = html.escape(FORMULA_NAME, quote=True)
    assert f"&#x27;{escaped}" in document  # the table cell: leading apostrophe
    assert "&#x27;@SUM(A1)" not in document  # only leading characters are neutralised
    href = next(attrs["href"] for tag, attrs in parse(document).tags if tag == "a" and attrs.get("download"))
    assert href is not None
    csv_text = urllib.parse.unquote(href.split(",", 1)[1])
    lines = csv_text.splitlines()
    assert lines[0].startswith("name,kind,method,score,threshold")
    assert any(line.startswith('"\'=HYPERLINK(""http://x"")"') for line in lines)
    assert any(line.startswith("<script>alert(1)</script>,") for line in lines)  # CSV is not HTML
    assert len(lines) == 1 + len(example_batch_report(hostile=True).features)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-0.25", "-0.25"),
        ("+3", "+3"),
        ("-1e-05", "-1e-05"),
        ("income", "income"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_formula(text: str, expected: str) -> None:
    assert kit.neutralise_formula(text) == expected


def test_esc_escapes_quotes_for_attributes() -> None:
    assert kit.esc('"><script>') == "&quot;&gt;&lt;script&gt;"
    assert kit.esc("it's") == "it&#x27;s"
    assert kit.esc(None) == ""


def test_svg_text_and_titles_are_escaped() -> None:
    ref = {"categories": ["</title><script>x</script>", "b"], "counts": [5, 5]}
    svg = charts.category_pair(ref, ref, label='"><b>')
    assert "<script>" not in svg and "</title><script>" not in svg
    assert "&lt;/title&gt;&lt;script&gt;" in svg
    assert 'aria-label="&quot;&gt;&lt;b&gt;' in svg


def test_pii_values_are_never_shown() -> None:
    """The PII summary has no field for values: one that carries them is refused before a page
    exists (the renderer never sees it); the page shows counts and kinds only."""
    data = example_batch_report().model_dump(mode="json")
    finding = {"column": "notes", "kind": "email", "count": 2, "share": 0.001}
    data["pii"] = {
        "action": "redact",
        "findings": [{**finding, "examples": ["jane@example.org"]}],
        "values": ["4111 1111 1111 1111"],
    }
    with pytest.raises(ValidationError) as refused:
        BatchReport.model_validate(data)
    assert {e["loc"][-1] for e in refused.value.errors()} == {"examples", "values"}
    report = example_batch_report()
    report.pii = PiiSummary(action="redact", findings=[PiiColumnFinding(**finding)])
    document = render_batch_report(report)
    assert "jane@example.org" not in document
    assert "4111 1111" not in document
    assert "Counts and kinds only: values are never shown." in document


# ---------------------------------------------------------------------------------------------
# batch report content


def feature_order(document: str) -> list[str]:
    return re.findall(r'<tr class="feature-row[^"]*"><td><span class="feature-name">([^<]*)</span>', document)


def test_features_are_sorted_drifted_first_then_by_severity() -> None:
    report = example_batch_report()
    order = feature_order(render_batch_report(report))
    by_name = {f.name: f for f in report.features}
    assert sorted(order) == sorted(by_name)
    ranks = {"drift": 0, "warn": 1, "insufficient_data": 2, "none": 3}
    severities = [ranks[by_name[name].severity] for name in order]
    assert severities == sorted(severities)
    drifted = [n for n in order if by_name[n].drifted]
    # among drifted features, the larger score/threshold ratio comes first
    ratios = [(by_name[n].score or 0.0) / by_name[n].threshold for n in drifted]
    assert ratios == sorted(ratios, reverse=True)


def test_each_feature_shows_its_raw_score_noise_band_floor_and_why_it_drifts() -> None:
    report = example_batch_report()
    first = report.features[0] = report.features[0].model_copy(
        update={"raw_score": 0.0612, "noise_band": 0.0413, "floor": 0.035, "beyond_noise": True}
    )
    second = report.features[1] = report.features[1].model_copy(
        update={
            "raw_score": 0.0734,
            "noise_band": None,
            "drift_reason": "persistent: 6 of the last 6 batches beyond the noise band",
        }
    )
    document = render_batch_report(report)
    row = re.search(rf'<span class="feature-name">{first.name}</span>.*?</tr>', document)
    evidence = "raw 0.0612 \u00b7 noise band 0.0413 \u00b7 floor 0.035 \u00b7 beyond noise"
    assert row and evidence in row.group(0)
    other = re.search(rf'<span class="feature-name">{second.name}</span>.*?</tr>', document)
    assert other and "raw 0.0734</span>" in other.group(0) and "noise band 0" not in other.group(0)
    assert "persistent: 6 of the last 6 batches beyond the noise band" in other.group(0)
    csv_href = re.search(r'download="features.csv" href="([^"]+)"', document)
    assert csv_href
    header = urllib.parse.unquote(html.unescape(csv_href.group(1)).split(",", 1)[1]).splitlines()[0]
    assert header.endswith("raw_score,noise_floor,noise_band,effect,floor,beyond_noise,drift_reason")


@pytest.mark.parametrize(
    ("verdict", "tone", "words"),
    [
        ("ok", "ok", "No drift, data quality OK"),
        ("drift", "bad", "Drift detected"),
        ("quality", "warn", "Data quality problems"),
        ("drift+quality", "bad", "Drift and data quality problems"),
    ],
)
def test_verdict_banner_uses_colour_and_words(verdict: str, tone: str, words: str) -> None:
    report = example_batch_report().model_copy(update={"verdict": verdict})
    document = render_batch_report(report)
    banner = re.search(r'<section class="banner banner-(\w+)" id="verdict"[^>]*>(.*?)</section>', document)
    assert banner is not None
    assert banner.group(1) == tone
    assert words in banner.group(2)


def test_key_numbers_come_from_the_report() -> None:
    report = example_batch_report()
    report.rows = 123_456
    report.dataset_drift.share = 0.4567
    assert report.multivariate is not None
    report.multivariate.auc = 0.8123
    report.quality = report.quality[:2]
    document = render_batch_report(report)
    stats = re.findall(
        r'<span class="stat-label">([^<]*)</span><span class="stat-value">([^<]*)</span>', document
    )
    values = dict(stats)
    assert values["Rows"] == "123,456"
    assert values["Drifted share"] == "45.7%"
    assert values["Multivariate AUC"] == "0.812"
    assert values["Quality violations"] == "2"
    assert values["PII columns"] == "1"


def test_one_distribution_chart_per_feature_of_the_right_kind() -> None:
    report = example_batch_report()
    document = render_batch_report(report)
    hists = [f.reference_hist for f in report.features]
    numeric = sum(1 for h in hists if h is not None and h.edges)
    categorical = sum(1 for h in hists if h is not None and h.categories)
    assert document.count('class="chart-hist"') == numeric
    assert document.count('class="chart-cat"') == categorical


def test_renders_the_domain_batch_report_model_like_its_json() -> None:
    model = example_batch_report(hostile=True)
    strip = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    from_model = strip.sub("", render_batch_report(model))
    from_json = strip.sub("", render_batch_report(BatchReport.from_json(model.to_json())))
    assert from_model == from_json
    assert "inference/credit-risk/2026-11-28/batch-0042.parquet" in from_model


def test_window_report_shows_its_window_instead_of_a_batch() -> None:
    document = PAGES["window"]
    assert "Window drift &amp; quality report" in document
    assert "2026-11-27 14:00 UTC \u2192 2026-11-28 14:00 UTC" in document
    assert "Batch <b>" not in document


def test_window_report_shows_volume_findings_and_the_batches_it_left_out() -> None:
    report = example_window_report()
    document = PAGES["window"]
    text = re.sub(r"\s+", " ", "".join(parse(document).text))
    assert "88,000" in text and "tested, of 96,000 received" in text
    assert f"{report.batches} batches merged" in text
    for finding in report.findings:
        assert finding.message in text
    skipped = report.skipped_batches[0]
    assert skipped.batch_id in text and skipped.reason in text
    assert "quality violation" not in text  # a window checks no quality: it claims none
    assert document.count('class="feature-row') == len(report.features)


def test_a_window_of_many_batches_lists_the_first_and_counts_the_rest() -> None:
    from modelsteward.reporting.batch import LISTED

    report = example_window_report()
    report.batch_ids = [f"b-{i:03d}" for i in range(LISTED + 7)]
    report.lineage.profiles = [{"uri": f"s3://a/{b}/profile.json"} for b in report.batch_ids]
    report.lineage.profiles_total = len(report.batch_ids)
    text = "".join(parse(render_window_report(report)).text)
    assert f"b-{LISTED - 1:03d}" in text and f"b-{LISTED:03d}" not in text
    assert "and 7 more (report.json lists all)" in text and "7 more profiles" in text


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"model": "m", "features": None, "multivariate": None, "pii": None, "quality": None},
        {"model": "m", "features": [{"name": "x"}], "dataset_drift": {"share": None}},
        {"model": "m", "features": [{"name": "x", "score": float("nan"), "reference_hist": {"counts": []}}]},
        {"model": "m", "quality": {"violations": ["free text"]}, "contract": {"findings": [{"a": 1}]}},
    ],
)
def test_a_report_as_a_dict_is_refused_however_partial(report: dict[str, Any]) -> None:
    """No guessing at key names: the page takes the record its writer built (readers parse
    report.json with BatchReport first)."""
    with pytest.raises(TypeError, match="expected a BatchReport, got dict"):
        render_batch_report(report)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a WindowReport, got dict"):
        render_window_report(report)  # type: ignore[arg-type]


def test_each_page_refuses_the_other_record() -> None:
    with pytest.raises(TypeError, match="expected a BatchReport, got WindowReport"):
        render_batch_report(example_window_report())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a WindowReport, got BatchReport"):
        render_window_report(example_batch_report())  # type: ignore[arg-type]


def test_a_sparse_report_renders_without_crashing() -> None:
    """The least a writer can build (no multivariate, no quality, no PII, nothing drawn), with a
    score that is not a number and a histogram without counts."""
    odd = FeatureResult(
        name="x",
        kind="numeric",
        data_type="numeric",
        method="wasserstein",
        score=float("nan"),
        threshold=0.1,
        warn_threshold=0.05,
        test="ks",
        p_value=None,
        p_value_adjusted=None,
        drifted=False,
        severity="none",
        n_reference=0,
        n_current=0,
        reference_hist=Histogram(counts=[]),
    )
    report = BatchReport(
        model="m",
        batch_id="b",
        source=SourceRef(uri="s3://data/inference/m/b.csv"),
        created_at="2026-01-01T00:00:00+00:00",
        rows=0,
        verdict="ok",
        dataset_drift=DatasetDrift(
            share=0.0, threshold=0.3, drifted=False, evaluated_features=0, drifted_features=[]
        ),
        features=[odd],
        pii=PiiSummary(action="redact"),
        timings=Timings(processing_ms=0.0, peak_memory_mb=0.0),
        lineage=Lineage(),
    )
    document = render_batch_report(report)
    assert_self_contained(document)
    assert 'id="verdict"' in document and "no score" in document
    assert "No data-quality violations." in document and "No PII found." in document


def test_keys_outside_the_schema_are_refused_when_read_not_dropped() -> None:
    """A field the writer does not know is an error when report.json is read, never a silent loss."""
    data = example_batch_report().model_dump(mode="json")
    data["estimated_performance"] = {"roc_auc": 0.7712}
    with pytest.raises(ValidationError, match="estimated_performance"):
        BatchReport.model_validate(data)


def test_the_csv_columns_are_fields_of_the_feature_record() -> None:
    assert set(CSV_COLUMNS) <= set(FeatureResult.model_fields)


def test_the_report_records_and_pages_load_without_numpy() -> None:
    """handle_alarm (no dependency layer) parses report.json and any light function may draw it."""
    from light_imports import heavy_after

    records = "import modelsteward.domain.report, modelsteward.domain.window_report"
    assert heavy_after(f"{records}, modelsteward.reporting.batch") == []


def test_drawing_the_batch_page_loads_no_other_page() -> None:
    """monitor_batch and `steward check` draw only the batch page: the card, governance and
    timeline modules (and the card's records) are loaded when first asked for, not with it."""
    from light_imports import heavy_after

    others = (
        "modelsteward.reporting.card",
        "modelsteward.reporting.governance",
        "modelsteward.reporting.timeline",
        "modelsteward.domain.model_card",
    )
    assert heavy_after("import modelsteward.reporting.batch", others) == []
    loaded = heavy_after("from modelsteward.reporting import render_model_card", others)
    assert "modelsteward.reporting.card" in loaded and "modelsteward.reporting.timeline" not in loaded


# ---------------------------------------------------------------------------------------------
# timeline


def _timeline(points: list[TimelinePoint], model: str = "credit-risk") -> DriftTimeline:
    return DriftTimeline(model=model, points=points)


def test_timeline_sorts_points_and_marks_drifted_ones() -> None:
    points = example_timeline_points(12)
    shuffled = points[6:] + points[:6]
    document = render_drift_timeline(_timeline(shuffled))
    shown = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d UTC)</td>", document)
    assert shown == sorted(shown, reverse=True)  # most recent first
    assert len(shown) == 12
    over = sum(
        1 for p in points if (p.drifted_share or 0) >= (p.threshold or 1) or "drift" in (p.verdict or "")
    )
    assert document.count('<tr class="row-drift">') == over
    assert document.count('class="point"') == 12


def test_timeline_has_a_sparkline_per_feature_and_a_threshold_line() -> None:
    points = example_timeline_points()
    document = render_drift_timeline(_timeline(points))
    assert document.count('class="chart-spark"') == len(points[0].features)
    assert 'class="threshold"' in document
    assert "credit-risk" in document


def test_timeline_accepts_missing_features_and_thresholds() -> None:
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    points = [
        TimelinePoint(
            at=day,
            batch_id="w1",
            drifted_share=0.1,
            threshold=0.3,
            verdict="ok",
            features=[TimelineFeature(name="a", score=0.02, threshold=0.1)],
        ),
        TimelinePoint(
            at=day + dt.timedelta(days=1),
            batch_id="w2",
            drifted_share=0.5,
            threshold=0.3,
            verdict="drift",
            features=[
                TimelineFeature(name="a", score=0.2, threshold=0.1),
                TimelineFeature(name="b", score=0.01),
            ],
        ),
    ]
    document = render_drift_timeline(_timeline(points, "m"))
    assert_self_contained(document)
    assert document.count('class="chart-spark"') == 2
    assert "w2" in document


def test_empty_timeline_says_so() -> None:
    document = render_drift_timeline(_timeline([], "m"))
    assert "No batches monitored yet" in document
    assert_self_contained(document)


def test_timeline_latest_score_shows_the_raw_score_in_the_batch_reports_words() -> None:
    """A healthy feature's score is net of the noise, so 0: the raw score beside it says what it
    measured (the batch report's evidence line, word for word)."""
    points = example_timeline_points()
    document = render_drift_timeline(_timeline(points))
    rows = re.findall(r"<tr>(.*?)</tr>", document.split('id="features"', 1)[1].split("</table>")[0])
    latest = {f.name: f for f in points[-1].features}
    healthy = [f for f in latest.values() if f.score == 0]
    assert healthy, "the example has features whose corrected score is 0"
    for name, feature in latest.items():
        row = next(r for r in rows if f">{name}</span>" in r)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        words = kit.noise_evidence(feature.raw_score, feature.noise_band, feature.floor, feature.beyond_noise)
        assert words.startswith(f"raw {kit.fmt_number(feature.raw_score)} \u00b7 noise band ")
        assert (
            cells[2]
            == f'{kit.fmt_number(feature.score)}<span class="sub evidence">{html.escape(words)}</span>'
        )
    report = example_batch_report()
    first = report.features[0].model_copy(
        update={"raw_score": 0.0312, "noise_band": 0.034, "floor": 0.035, "beyond_noise": False}
    )
    report = report.model_copy(update={"features": [first, *report.features[1:]]})
    words = kit.noise_evidence(0.0312, 0.034, 0.035, False)
    assert words == "raw 0.0312 \u00b7 noise band 0.034 \u00b7 floor 0.035"
    assert f'<span class="sub">{html.escape(words)}</span>' in render_batch_report(report)  # same words


def test_timeline_now_column_says_what_the_latest_batch_verdict_said() -> None:
    """A feature under its threshold but far beyond its noise band is drift in its batch's verdict:
    the timeline says so, with the reason, instead of "Below threshold" from the score alone."""
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    reason = "beyond 2x its noise band (0.0417 at 3,000 rows), effect 0.0994 above the floor 0.02"
    earned = TimelineFeature(
        name="loan_purpose",
        score=0.0994,
        raw_score=0.1024,
        noise_band=0.0417,
        threshold=0.1,
        severity="drift",
        drift_reason=reason,
    )
    quiet = TimelineFeature(name="age", score=0.0, raw_score=0.02, threshold=0.1, severity="none")
    legacy = TimelineFeature(name="region", score=0.2, threshold=0.1)  # kept from before: no severity
    point = TimelinePoint(at=day, batch_id="b1", features=[earned, quiet, legacy])
    document = render_drift_timeline(_timeline([point], "m"))
    body = document.split('id="features"', 1)[1].split("</table>")[0]
    rows = re.findall(r'<tr><td><span class="feature-name">([^<]+)</span></td>(.*?)</tr>', body)
    now = {name: re.findall(r"<td[^>]*>(.*?)</td>", cells)[6] for name, cells in rows}
    assert now["loan_purpose"] == f'{kit.badge("Drift", "bad")}<span class="sub">{html.escape(reason)}</span>'
    assert now["age"] == kit.badge("No drift", "ok")
    assert now["region"] == kit.badge("Drift", "bad")


def _chart_xs(document: str) -> list[float]:
    chart = document.split('class="chart-wide chart-line"', 1)[1].split("</svg>", 1)[0]
    return [float(x) for x in re.findall(r'<circle class="point" cx="([\d.]+)"', chart)]


def test_a_burst_of_batches_does_not_pile_up_on_the_right_edge() -> None:
    """A month of daily batches, then ten within a minute: every batch keeps a slot of its own
    (the x axis is the batch order, the way persistence and episodes count batches)."""
    points = example_timeline_points(30, burst=10)
    xs = _chart_xs(render_drift_timeline(_timeline(points)))
    assert len(xs) == 40
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert min(gaps) >= 20  # 1,030 px of plot / 39 gaps = 26 px each
    assert max(gaps) - min(gaps) < 0.2
    document = render_drift_timeline(_timeline(points))
    chart = document.split('class="chart-wide chart-line"', 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'font-size="12" fill="#7b8794" text-anchor="\w+">(\d{4}-\d\d-\d\d)</text>', chart)
    assert labels == sorted(labels) and len(labels) == len(set(labels)) >= 5  # dates, each once


def test_a_backfill_without_event_times_keeps_a_slot_per_batch_and_marks_the_pause() -> None:
    """Two weeks of history uploaded in one minute, a week after the last daily batch, by a feed with
    no timestamp column: the batches carry their upload time; each still gets its slot, and the pause
    before them is marked with its length."""
    daily = example_timeline_points(14)
    last = daily[-1].at
    backfill = [
        p.model_copy(update={"batch_id": f"backfill-{i}", "at": last + dt.timedelta(days=7, seconds=4 * i)})
        for i, p in enumerate(example_timeline_points(14))
    ]
    document = render_drift_timeline(_timeline(daily + backfill))
    xs = _chart_xs(document)
    assert len(xs) == 28 and min(b - a for a, b in itertools.pairwise(xs)) >= 30
    assert document.count('class="pause"') == 1 and ">7 d</text>" in document


def test_pauses_and_bursts_are_marked_relative_to_the_usual_cadence() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    hours = [0, 1, 2, 3, 15, 16, 17, 17.01, 17.02, 17.03, 18]
    found = charts.cadence([start + dt.timedelta(hours=h) for h in hours])
    assert found.pauses == [(3, "12 h")]
    assert found.bursts == [(6, 9, "2 min")]  # four batches 36 s apart where the usual gap is an hour
    steady = charts.cadence([start + dt.timedelta(days=d) for d in range(10)])
    assert steady.pauses == [] and steady.bursts == []
    assert charts.cadence([start, start, start]) == charts.Cadence([], [])
    document = render_drift_timeline(_timeline(example_timeline_points(30, burst=10)))
    assert document.count('class="burst"') == 1 and ">10 batches in 54 s</text>" in document


# ---------------------------------------------------------------------------------------------
# label-free estimate beside the realized value (issue 23)


def test_batch_report_sets_estimate_band_and_realized_side_by_side() -> None:
    report = example_batch_report()
    document = render_batch_report(report)
    text = re.sub(r"\s+", " ", "".join(parse(document).text))
    assert "Model performance: estimate and realized" in text
    assert (
        "Estimated ROC AUC 0.781, 95% band 0.760 to 0.802 (width 0.042). Realized 0.774 from 5,870 "
        "labeled rows: inside the band, 0.007 below the estimate." in text
    )
    assert "Realized 0.751 from 1,931 labeled rows: outside the band, 0.051 below the estimate." in text
    assert "Not trusted: the labeled reference has 168 rows of the rarer class" in text
    assert "7.0% of the rows scored outside the reference's score range" in text
    assert report.performance is not None
    metrics = sum(len(v.metrics) for v in report.performance.variants)
    assert document.count('class="chart-interval"') == metrics
    realized = sum(1 for v in report.performance.variants for m in v.metrics if m.realized is not None)
    assert document.count('class="realized"') == realized
    # a section only when there is an estimate
    report.performance = None
    assert "Model performance" not in render_batch_report(report)


def test_batch_report_says_awaiting_labels_before_they_come() -> None:
    report = example_batch_report()
    assert report.performance is not None
    for variant in report.performance.variants:
        variant.realized_rows = None
        for metric in variant.metrics:
            metric.realized, metric.gap, metric.inside_band = None, None, None
    text = "".join(parse(render_batch_report(report)).text)
    assert "Realized: awaiting labels." in text and "Outside the band" not in text


def test_timeline_draws_the_estimate_its_band_and_the_realized_values() -> None:
    points = example_timeline_points()
    document = render_drift_timeline(_timeline(points))
    assert "Estimated ROC AUC over time, and realized" in document
    assert document.count('class="chart-wide chart-band"') == 1
    performance = [p.performance for p in points if p.performance is not None]
    labeled = sum(1 for e in performance if e.realized is not None)
    assert document.count('class="realized"') == labeled
    outside = sum(1 for e in performance if e.inside_band is False)
    assert document.count('<tr class="row-fail">') == outside
    assert document.count(">Awaiting labels<") == len(points) - labeled
    without = [p.model_copy(update={"performance": None}) for p in points]
    assert "Estimated ROC AUC" not in render_drift_timeline(_timeline(without))


def test_interval_bar_colours_the_realized_value_by_the_band() -> None:
    inside = charts.interval_bar(0.75, 0.73, 0.77, 0.76)
    outside = charts.interval_bar(0.75, 0.73, 0.77, 0.70)
    assert charts.OK in inside and charts.BAD not in inside
    assert charts.BAD in outside
    assert 'class="realized"' not in charts.interval_bar(0.75, 0.73, 0.77)
    assert "no estimate" in charts.interval_bar(None, None, None)


def test_model_card_says_when_the_estimate_cannot_be_trusted() -> None:
    text = re.sub(r"\s+", " ", "".join(parse(render_model_card(example_model_card())).text))
    assert "Estimate not trusted: reference too small" in text
    assert "not trusted: the labeled reference has 168 rows of the rarer class" in text


# ---------------------------------------------------------------------------------------------
# model card


def test_model_card_from_the_domain_builder_shape() -> None:
    card = example_model_card()
    document = render_model_card(card)
    for title in (
        "Model overview",
        "Intended uses",
        "Training details",
        "Evaluation",
        "Promotion gate evidence",
        "Approvals and decisions",
        "Monitoring",
        "Lineage",
    ):
        assert f"<h2>{title}</h2>" in document, title
    assert "credit-risk \u00b7 v3" in document
    assert "banner-ok" in document and "risk rating high" in document
    # segment values worse than overall by > 2% are flagged, better ones are not
    assert re.search(r"0\.7811 \u25bc", document)
    assert not re.search(r"0\.8194 \u25bc", document)
    assert "c1e3b5d7f9a0" in document  # artifact hash in lineage


def test_model_card_pending_and_rejected_with_segments_and_hostile_text() -> None:
    """A pending card whose gate rejected it: warn banner, escaped decision text, lower-is-better
    metrics flagged the right way round, a neutralised formula in a free-form field."""
    card = example_model_card().model_copy(deep=True)
    card.status = "PendingReview"
    card.model_overview.model_name, card.model_overview.model_version = "churn", 7
    card.intended_uses.risk_rating = "medium"
    card.training_details.params = {"favourite_colour": "=cmd|' /C calc'!A0"}
    evaluation = card.evaluation_details
    evaluation.primary_metric, evaluation.greater_is_better = "f1", True
    evaluation.metrics = {"f1": 0.61, "log_loss": 0.5}
    evaluation.segment_metrics = {
        "tenure": {"new": {"f1": 0.5, "log_loss": 0.7}, "old": {"f1": 0.62, "log_loss": 0.49}}
    }
    assert evaluation.gate is not None
    evaluation.gate = evaluation.gate.model_copy(
        update={"outcome": "reject", "metric": "f1", "champion_score": 0.6, "challenger_score": 0.61}
    )
    card.additional_information.decisions = [
        Decision(seq=1, at="2026-01-01T00:00:00Z", action="model.rejected", actor="ops", reason="<b>no</b>")
    ]
    document = render_model_card(card)
    assert_self_contained(document)
    assert "banner-warn" in document and "risk rating medium" in document
    assert "Gate failed" in document
    assert "&lt;b&gt;no&lt;/b&gt;" in document
    assert "Favourite colour" in document
    assert "&#x27;=cmd|" in document  # a free-form value is neutralised too
    assert "tenure=new" in document and 'class="chart-metric"' in document
    assert re.search(r"0\.5 \u25bc", document)  # f1 of "new" is worse
    assert re.search(r"0\.7 \u25bc", document)  # log loss of "new" is worse (lower is better)
    assert not re.search(r"0\.49 \u25bc", document)


@pytest.mark.parametrize(
    ("render", "typed"),
    [
        (render_batch_report, example_batch_report),
        (render_window_report, example_window_report),
        (render_model_card, example_model_card),
        (render_governance_report, example_governance_report),
        (render_drift_timeline, example_timeline),
    ],
)
def test_renderers_take_their_typed_record_never_its_json(
    render: Callable[[Any], str], typed: Callable[[], BaseModel]
) -> None:
    """A page built from a dict would have to guess key names: the renderers refuse one."""
    record = typed()
    assert 'id="verdict"' in render(record)
    with pytest.raises(TypeError, match=type(record).__name__):
        render(record.model_dump(mode="json"))


# ---------------------------------------------------------------------------------------------
# governance


def test_governance_lists_failed_checks_first_with_findings() -> None:
    report = example_governance_report()
    document = render_governance_report(report)
    results = re.findall(r'badge-(ok|bad)">(Pass|Fail)</span>', document)
    assert [r[1] for r in results] == sorted((r[1] for r in results), key=lambda r: r != "Fail")
    failed = {f.check for f in report.findings}
    assert f"{len(failed)} of {len(report.checks)} checks failed" in document
    for finding in report.findings:
        assert html.escape(f"{finding.model} v{finding.version}: {finding.message}") in document
    assert "audit-20261129T030000Z" in document
    assert document.count('<tr class="row-fail">') == len(failed) + sum(
        1 for m in report.models if m.findings
    )


def test_governance_from_the_raw_audit_report_model() -> None:
    report = GovernanceReport(
        run_id="r9",
        generated_at="2026-11-29T03:00:00+00:00",
        stage="prod",
        ok=False,
        chain=ChainSummary(ok=True, records=12, export_checked=True, message="chain verified"),
        models=[ModelAudit(model="<i>m</i>", spec_found=False, alarms=[], findings=2)],
        findings=[
            Finding(check="approval", model="m", version=2, message="no approval"),
            Finding(check="approval", model="m", version=3, message="no approval either"),
            Finding(check="lineage", message="=1+2 lost"),
        ],
    )
    document = render_governance_report(report)  # type: ignore[arg-type]  # reads the model as well
    assert_self_contained(document)
    checks = len(report.checks)
    assert f"2 of {checks} checks failed" in document
    assert "m v2: no approval" in document and "m v3: no approval either" in document
    assert "&#x27;=1+2 lost" in document
    assert "Hash chain intact" in document
    assert "&lt;i&gt;m&lt;/i&gt;" in document and "no spec" in document
    assert document.count('badge-bad">Fail</span>') == 2


def test_governance_all_passed_and_no_checks() -> None:
    chain = ChainSummary(ok=True, records=0, export_checked=False, message="empty")
    passed = GovernanceReport(
        run_id="r1", generated_at="2026-01-01T00:00:00Z", stage="dev", ok=True, checks=["a"], chain=chain
    )
    assert "All 1 checks passed" in render_governance_report(passed)
    assert "banner-ok" in render_governance_report(passed)
    empty = render_governance_report(passed.model_copy(update={"run_id": "r2", "checks": []}))
    assert "No checks ran" in empty


# ---------------------------------------------------------------------------------------------
# charts


def test_histogram_bars_match_shares() -> None:
    svg = charts.histogram_pair(
        {"edges": [0, 1, 2], "counts": [1, 3]}, {"edges": [0, 1, 2], "counts": [3, 1]}
    )
    assert "[0, 1): reference 25.0%, current 75.0%" in svg
    assert "[1, 2): reference 75.0%, current 25.0%" in svg
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill="#(?:a3adb8|2563eb)"', svg)]
    assert len(heights) == 4
    assert max(heights) == pytest.approx(3 * min(heights), rel=0.05)


def test_histogram_with_open_or_degenerate_edges_still_draws() -> None:
    svg = charts.histogram_pair({"edges": [None, 1, 2, None], "counts": [1, 2, 1]}, {"counts": [0, 2, 2]})
    assert "\u2212\u221e" in svg and "\u221e)" in svg
    svg = charts.histogram_pair(
        {"edges": [1, 1, 1], "counts": [1, 1]}, {"edges": [1, 1, 1], "counts": [1, 0]}
    )
    assert svg.count("<title>") == 2
    assert "no distribution" in charts.histogram_pair({}, {})


def test_categories_top_n_plus_other() -> None:
    ref = {"categories": list("abcdefgh"), "counts": [8, 7, 6, 5, 4, 3, 2, 1]}
    svg = charts.category_pair(ref, ref, top_n=5)
    assert "other (3)" in svg
    six = {"categories": list("abcdef"), "counts": [6, 5, 4, 3, 2, 1]}
    svg = charts.category_pair(six, six, top_n=5)
    assert "other" not in svg and ">f<" in svg  # never an "other" of one category
    new = charts.category_pair(
        {"categories": ["a"], "counts": [1]}, {"categories": ["a", "z"], "counts": [1, 1]}
    )
    assert "z: reference 0.0%, current 50.0%" in new


def test_line_chart_marks_points_at_or_over_threshold() -> None:
    points: list[dict[str, Any]] = [
        {"at": "2026-01-01T00:00:00Z", "value": 0.1, "threshold": 0.3},
        {"at": "2026-01-02T00:00:00Z", "value": 0.3, "threshold": 0.3},
        {"at": "2026-01-03T00:00:00Z", "value": 0.5, "threshold": 0.3},
        {"at": "2026-01-04T00:00:00Z", "value": None, "threshold": 0.3},
    ]
    svg = charts.line_chart(points)
    fills = re.findall(r'<circle class="point"[^>]*fill="(#[0-9a-f]{6})"', svg)
    assert fills == [charts.CUR, charts.BAD, charts.BAD]
    assert "threshold 30%" in svg
    assert "no data points yet" in charts.line_chart([])


def test_sparkline_breaks_at_missing_values_and_marks_over_threshold() -> None:
    svg = charts.sparkline([0.1, 0.2, None, 0.3, 0.05], threshold=0.25)
    assert svg.count("<polyline") == 2
    assert svg.count(f'fill="{charts.BAD}"') == 1  # 0.3 is over; the last point is marked in blue
    assert "no data" in charts.sparkline([None, None])


def test_score_bar_ticks_sit_at_the_thresholds() -> None:
    svg = charts.score_bar(0.2, 0.1, warn_threshold=0.05, width=100)
    bar = float(re.findall(r'<rect x="0" y="2" width="([\d.]+)"', svg)[1])
    ticks = [float(x) for x in re.findall(r'<line x1="([\d.]+)"', svg)]
    assert len(ticks) == 2
    warn_x, limit_x = ticks
    assert limit_x == pytest.approx(2 * warn_x, rel=0.02)
    assert bar == pytest.approx(2 * limit_x, rel=0.02)


# ---------------------------------------------------------------------------------------------
# formats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567, "1,234,567"),
        (0.123456, "0.123"),
        (12.0, "12"),
        (None, "\u2014"),
        (True, "yes"),
        (2.5e-7, "2.5e-07"),
    ],
)
def test_fmt_number(value: object, expected: str) -> None:
    assert kit.fmt_number(value) == expected


def test_fmt_p_and_percent_and_time() -> None:
    assert kit.fmt_p(0.0004) == "<0.001"
    assert kit.fmt_p(0.0312) == "0.031"
    assert kit.fmt_percent(0.4567) == "45.7%"
    assert kit.fmt_time("2026-11-28T14:05:12+01:00") == "2026-11-28 13:05 UTC"
    assert kit.fmt_time("not a time") == "not a time"


# ---------------------------------------------------------------------------------------------
# PNG tools (no browser)


def _png(width: int, height: int, rows: list[bytes], filters: list[int]) -> bytes:
    """A tiny RGB PNG with the given filter per row (forward filters implemented plainly here)."""
    bpp, out, prior = 3, b"", bytes(width * 3)
    for row, kind in zip(rows, filters, strict=True):
        filtered = bytearray()
        for i, value in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            filtered.append((value - pred) % 256)
        out += bytes([kind]) + bytes(filtered)
        prior = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(out))
        + chunk(b"IEND", b"")
    )


def test_png_decoder_undoes_every_filter(tmp_path: Path) -> None:
    import random

    rng = random.Random(3)
    width, height = 7, 10
    rows = [bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height)]
    path = tmp_path / "f.png"
    path.write_bytes(_png(width, height, rows, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]))
    decoded = screenshot.decode_png(path)
    assert [bytes(r) for r in decoded.rows] == rows
    path2 = tmp_path / "g.png"
    path2.write_bytes(screenshot.encode_png(decoded))
    assert [bytes(r) for r in screenshot.decode_png(path2).rows] == rows


def test_png_stats_and_trim(tmp_path: Path) -> None:
    width = 20
    white = bytes([255] * width * 3)
    ink = bytes([20, 40, 200] * (width // 2) + [200, 30, 30] * (width // 2))
    rows = [ink] * 10 + [white] * 30
    path = tmp_path / "p.png"
    path.write_bytes(_png(width, 40, rows, [2] * 40))
    stats = screenshot.png_stats(path, sample_every=1)
    assert stats.width == width and stats.height == 40
    assert stats.distinct_colours == 3
    assert stats.non_white_share == pytest.approx(10 / 40)
    assert screenshot.trim_png_bottom(path, margin=2) == 12
    assert screenshot.decode_png(path).height == 12
    with pytest.raises(ValueError, match="not a PNG"):
        screenshot.png_stats(_write(tmp_path / "x.png", b"GIF89a"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_screenshot_reports_false_without_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenshot, "find_chromium", lambda: None)
    page = tmp_path / "p.html"
    page.write_text(PAGES["governance"], encoding="utf-8")
    assert screenshot.screenshot(page, tmp_path / "p.png") is False
    assert not (tmp_path / "p.png").exists()
    assert screenshot.dump_dom(page) is None


def test_content_height_grows_with_content_within_bounds() -> None:
    small = screenshot.content_height(PAGES["governance"])
    large = screenshot.content_height(PAGES["timeline"])
    assert 900 <= small < large <= screenshot.MAX_HEIGHT


def test_examples_command_writes_every_page(tmp_path: Path) -> None:
    from stewardtools.report_examples import main

    assert main([str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "batch_report.html",
        "drift_timeline.html",
        "governance_report.html",
        "model_card.html",
        "window_report.html",
    ]
