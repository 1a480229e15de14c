"""Self-contained HTML reports: batch/window drift, drift over time, model cards, governance audits.

Every page is one HTML document with inline CSS and inline SVG charts: no scripts, no network, no
external URL, printable. All text from the data is escaped (see :mod:`.kit`). Each page takes the
typed record its writer builds (never its JSON). The standard library and the suite's pydantic
records only, so light functions can render reports without pandas or numpy.

The renderers are loaded on first use (PEP 562): importing one page's module (monitor_batch and
``steward check`` draw only the batch page) does not import the others and their records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import render_batch_report, render_window_report
    from .card import render_model_card
    from .governance import render_governance_report
    from .timeline import render_drift_timeline

__all__ = [
    "render_batch_report",
    "render_drift_timeline",
    "render_governance_report",
    "render_model_card",
    "render_window_report",
]


def __getattr__(name: str) -> Any:
    if name == "render_batch_report":
        from .batch import render_batch_report

        return render_batch_report
    if name == "render_window_report":
        from .batch import render_window_report

        return render_window_report
    if name == "render_model_card":
        from .card import render_model_card

        return render_model_card
    if name == "render_governance_report":
        from .governance import render_governance_report

        return render_governance_report
    if name == "render_drift_timeline":
        from .timeline import render_drift_timeline

        return render_drift_timeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
