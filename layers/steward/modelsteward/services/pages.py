"""Every HTML page beside the JSON record it draws, and what happens when drawing it fails.

Pages (batch and window reports, model cards, governance reports) are drawn from the typed record
that is also written as JSON. A renderer bug must cost neither the record nor the run (a retry
would fail the same way), and a person must learn of it where they look:

- the record's JSON is written all the same;
- the page's key gets a short notice instead of the page: the page could not be drawn, where the
  record is, and the audit action to look for. It shows nothing of the record (it is no second
  renderer that could drift from the first) and it replaces an older page at the key, which
  would otherwise show an older record as if it were current (and needs no delete permission);
- ``page.failed`` is appended to the audit trail (``steward audit history``) and the failure is
  logged at ERROR. Both name the exception type and the frames it came from, never its message,
  which could quote a value of the data.
"""

from __future__ import annotations

import html
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from ..ports import ObjectRef
from .context import Context

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
ACTION = "page.failed"
_STACK_FRAMES = 6


@dataclass(frozen=True)
class PageFailure:
    """Why a page was not drawn: the exception type and its innermost frames (file:line in function)."""

    error: str
    where: str
    stack: tuple[str, ...]

    @classmethod
    def of(cls, exc: BaseException) -> PageFailure:
        frames = [
            f"{_short(f.filename)}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__)
        ]
        own = [f for f in frames if f.startswith("modelsteward/")]
        where = (own or frames or ["unknown"])[-1]
        return cls(error=type(exc).__name__, where=where, stack=tuple(frames[-_STACK_FRAMES:]))


def _short(filename: str) -> str:
    """A path from the package on (``modelsteward/reporting/batch.py``), the same in Lambda and here."""
    marker = "modelsteward/"
    cut = filename.replace("\\", "/").rfind(marker)
    return filename[cut:] if cut >= 0 else filename.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Page:
    """A drawn page, or the notice that stands in its place (``failure`` says why)."""

    html: str
    failure: PageFailure | None = None


def notice(title: str, record_uri: str, failure: PageFailure) -> str:
    """The page's stand-in: what failed and where the record is; nothing of the record itself."""
    t, uri = html.escape(title, quote=True), html.escape(record_uri, quote=True)
    error, where = html.escape(failure.error), html.escape(failure.where)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        f"<title>{t}: page not drawn</title></head><body><h1>{t}</h1>"
        f"<p>This page could not be drawn ({error} in {where}).</p>"
        f"<p>The record it shows is intact: <code>{uri}</code>.</p>"
        f"<p>The failure is in the audit trail as <code>{ACTION}</code> "
        "(<code>steward audit history</code>).</p></body></html>\n"
    )


def draw(render: Callable[[], str], *, title: str, record_uri: str) -> Page:
    """``render()``'s page, or the notice when it raises (logged here; recorded by :func:`record_failure`)."""
    try:
        return Page(render())
    except Exception as exc:  # any renderer bug: the record must not depend on its page
        failure = PageFailure.of(exc)
        where = {"error": failure.error, "where": failure.where, "stack": list(failure.stack)}
        log.error("page not drawn", extra={"page": title, **where})
        return Page(notice(title, record_uri, failure), failure)


def page_title(kind: str, subject: str) -> str:
    """``batch_report``, ``credit-risk batch-7`` -> ``Batch report: credit-risk batch-7``."""
    return f"{kind.replace('_', ' ').capitalize()}: {subject}"


def record_failure(
    ctx: Context,
    page: Page,
    *,
    kind: str,
    model: str | None,
    model_version: int | None = None,
    outputs: list[ObjectRef] | None = None,
) -> None:
    """Append ``page.failed`` when ``page`` is a notice (``kind``: batch_report, window_report,
    model_card, governance_report; ``outputs``: the record and the notice)."""
    if page.failure is None:
        return
    ctx.record(
        ACTION,
        model=model,
        model_version=model_version,
        reason=f"{kind} page not drawn: {page.failure.error} in {page.failure.where}",
        outputs=[r.as_dict() for r in outputs or []],
        details={
            "page": kind,
            "error": page.failure.error,
            "where": page.failure.where,
            "stack": list(page.failure.stack),
        },
    )


def write_page(
    ctx: Context,
    bucket: str,
    key: str,
    render: Callable[[], str],
    *,
    kind: str,
    subject: str,
    record: ObjectRef,
    model: str | None,
    model_version: int | None = None,
) -> tuple[ObjectRef, PageFailure | None]:
    """Draw and write the page of a record already written (``record``); a failure writes the
    notice and records ``page.failed``. Returns the page's ref and the failure, if any."""
    page = draw(render, title=page_title(kind, subject), record_uri=record.uri)
    ref = ctx.store.put(bucket, key, page.html.encode("utf-8"), content_type=HTML)
    record_failure(ctx, page, kind=kind, model=model, model_version=model_version, outputs=[record, ref])
    return ref, page.failure
