"""Self-contained HTML reports: batch/window drift, drift over time, model cards, governance audits.

Every page is one HTML document with inline CSS and inline SVG charts: no scripts, no network, no
external URL, printable. All text from the data is escaped (see :mod:`.kit`). Each page takes the
typed record its writer builds (never its JSON). The standard library and the suite's pydantic
records only, so light functions can render reports without pandas or numpy.
"""

from __future__ import annotations

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
