"""services.pages: a page is drawn from its record, or a notice stands in for it that says where the
record is, escapes what it names and never repeats the exception's message."""

from __future__ import annotations

import html

from modelsteward.services.pages import PageFailure, draw, notice, page_title


def _fails() -> str:
    secret = "4111 1111 1111 1111"
    raise ValueError(f"could not parse {secret}")


def test_a_drawn_page_is_the_renderers_output() -> None:
    page = draw(lambda: "<!DOCTYPE html><p>ok</p>", title="t", record_uri="s3://b/report.json")
    assert page.html == "<!DOCTYPE html><p>ok</p>" and page.failure is None


def test_a_failed_page_names_the_error_and_its_frame_never_its_message() -> None:
    page = draw(_fails, title="Batch report: m b", record_uri="s3://b/reports/m/batches/b/report.json")
    assert page.failure is not None
    assert page.failure.error == "ValueError"
    assert page.failure.where.startswith("modelsteward/services/pages.py:")  # innermost frame of ours
    assert page.failure.stack[-1].startswith("test_pages.py:") and page.failure.stack[-1].endswith("_fails")
    assert "4111" not in page.html and "could not parse" not in page.html
    assert "This page could not be drawn (ValueError in modelsteward/services/pages.py:" in page.html
    assert "s3://b/reports/m/batches/b/report.json" in page.html
    assert "page.failed" in page.html


def test_the_notice_escapes_what_it_names() -> None:
    hostile = '<script>alert("x")</script>'
    failure = PageFailure(error="KeyError", where="modelsteward/reporting/batch.py:1 in f", stack=())
    text = notice(page_title("batch_report", hostile), f"s3://b/{hostile}/report.json", failure)
    assert "<script>" not in text
    assert html.escape(hostile, quote=True) in text
    assert text.startswith("<!DOCTYPE html>") and "default-src 'none'" in text
    assert page_title("window_report", "m day 2026-03-03") == "Window report: m day 2026-03-03"
