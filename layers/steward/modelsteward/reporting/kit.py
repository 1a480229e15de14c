"""The shared page kit of every HTML report: escaping, number formats, the page shell and its CSS.

Why one module: every report must look the same and, above all, escape the same way. Nothing in
here builds markup from unescaped input: text goes through :func:`esc` (``html.escape`` with
``quote=True``); table cells go through :func:`cell`, which also neutralises spreadsheet
formulas (a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
leading apostrophe, the OWASP "CSV injection" rule) because people copy report tables into
spreadsheets and the batch report offers the feature table as CSV.

Pages are self-contained: inline CSS, inline SVG, no scripts, no external URL of any kind.
Pure standard library (no pandas/numpy), so light Lambda functions can render reports.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .. import clock

MISSING = "\u2014"  # em dash for "no value"
T = TypeVar("T")

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")

# Keys whose values are never shown (PII summaries carry counts and types, never the values).
SECRET_KEYS = frozenset(
    {"values", "value_samples", "examples", "samples", "sample_values", "matches", "raw", "secret"}
)


# ---------------------------------------------------------------------------------------------
# Escaping


def esc(value: object) -> str:
    """HTML-escape any value as text (also safe inside double- or single-quoted attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def neutralise_formula(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula.

    Plain numbers such as ``-0.25`` or ``+3`` stay as they are: they cannot be formulas.
    """
    if text.startswith(_FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def cell(value: object) -> str:
    """Table-cell text: formatted, formula-neutralised, then escaped."""
    return esc(neutralise_formula(fmt_value(value)))


# ---------------------------------------------------------------------------------------------
# Typed inputs


def require_type(value: object, expected: type[T]) -> T:
    """``value`` when it is an ``expected``, else a TypeError naming both.

    Why: the card and governance pages take the record their writer builds, never its JSON; a
    page that accepts a dict would have to guess key names, which hides drift between the two.
    """
    if not isinstance(value, expected):
        raise TypeError(f"expected a {expected.__name__}, got {type(value).__name__}")
    return value


def as_float(value: Any) -> float | None:
    """A finite float, or None (for None, NaN, infinities, text)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def humanize(key: str) -> str:
    """``training_details`` -> ``Training details``; ``roc_auc`` -> ``ROC AUC``."""
    words = re.sub(r"[_\-]+", " ", str(key)).strip().split()
    acronyms = {"auc", "roc", "psi", "js", "ks", "pii", "id", "uri", "sha256", "f1", "mae", "rmse", "ci"}
    out = [w.upper() if w.lower() in acronyms else w for w in words]
    if out and out[0] == out[0].lower():
        out[0] = out[0].capitalize()
    return " ".join(out) or str(key)


# ---------------------------------------------------------------------------------------------
# Number and time formats


def fmt_number(value: Any, digits: int = 3) -> str:
    """Integers with thousands separators; floats with ``digits`` significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    number = as_float(value)
    if number is None:
        if isinstance(value, float):  # NaN / inf
            return "n/a" if math.isnan(value) else ("\u221e" if value > 0 else "\u2212\u221e")
        return MISSING if value is None else str(value)
    if number == 0:
        return "0"
    if abs(number) >= 10 ** (digits + 3) or abs(number) < 10 ** -(digits + 1):
        return f"{number:.{digits}g}"
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    text = f"{number:.{digits}g}"
    if "e" in text:  # .g switched to exponent for a mid-size number: show it plainly
        text = f"{number:.{max(digits - 1, 0)}f}"
    return text


def fmt_percent(value: Any, digits: int = 1) -> str:
    number = as_float(value)
    return MISSING if number is None else f"{number * 100:.{digits}f}%"


def fmt_p(value: Any) -> str:
    """p-values: three decimals, or ``<0.001``."""
    number = as_float(value)
    if number is None:
        return MISSING
    return "<0.001" if number < 0.001 else f"{number:.3f}"


def noise_evidence(raw: Any, band: Any = None, floor: Any = None, beyond: Any = None) -> str:
    """A drift score's evidence as the batch report and the timeline word it: ``raw 0.031 · noise
    band 0.04 · floor 0.035 · beyond noise``; empty without a raw score.

    Why shown: the verdict's score is the raw statistic minus the noise expected at the batch size,
    so a healthy feature scores 0 and only the raw score says what other tools would report."""
    if as_float(raw) is None:
        return ""
    parts = [f"raw {fmt_number(raw)}"]
    if as_float(band) is not None:
        parts.append(f"noise band {fmt_number(band)}")
        if as_float(floor) is not None:
            parts.append(f"floor {fmt_number(floor)}")
    if beyond:
        parts.append("beyond noise")
    return " \u00b7 ".join(parts)


def fmt_time(value: Any) -> str:
    """ISO timestamps shown as ``2026-01-31 14:05 UTC``; other text unchanged."""
    if value is None or value == "":
        return MISSING
    parsed = parse_time(value)
    if parsed is None:
        return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
        return parsed.strftime("%Y-%m-%d %H:%M UTC")
    return parsed.strftime("%Y-%m-%d %H:%M")


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def fmt_value(value: Any) -> str:
    """Display text of a scalar (lists joined by commas; mappings as ``k: v``)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return fmt_number(value, 4)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(v) for v in value)
    text = str(value)
    if 19 <= len(text) <= 40 and text[4:5] == "-" and text[10:11] == "T" and parse_time(text):
        return fmt_time(text)
    return text


# ---------------------------------------------------------------------------------------------
# Markup pieces (all arguments that are text get escaped here)

TONES = ("ok", "warn", "bad", "info", "muted")


def badge(text: str, tone: str) -> str:
    tone = tone if tone in TONES else "muted"
    return f'<span class="badge badge-{tone}">{esc(text)}</span>'


_BANNER_ICONS = {"ok": "\u2714", "warn": "\u26a0", "bad": "\u2716", "info": "\u2139", "muted": "\u2022"}


def banner(tone: str, headline: str, detail: str = "", *, label: str = "Verdict") -> str:
    """The verdict banner: colour, an icon and words (never colour alone)."""
    tone = tone if tone in TONES else "muted"
    detail_html = f'<p class="banner-detail">{esc(detail)}</p>' if detail else ""
    return (
        f'<section class="banner banner-{tone}" id="verdict" role="status" aria-label="{esc(label)}">'
        f'<span class="banner-icon" aria-hidden="true">{_BANNER_ICONS[tone]}</span>'
        f'<div><p class="banner-label">{esc(label)}</p>'
        f'<p class="banner-headline">{esc(headline)}</p>{detail_html}</div></section>'
    )


def stat_cards(cards: Iterable[tuple[str, str, str, str]]) -> str:
    """Key numbers: (label, value, note, tone) each; tone colours the left rule."""
    items = []
    for label, value, note, tone in cards:
        note_html = f'<span class="stat-note">{esc(note)}</span>' if note else ""
        items.append(
            f'<div class="stat stat-{esc(tone)}"><span class="stat-label">{esc(label)}</span>'
            f'<span class="stat-value">{esc(value)}</span>{note_html}</div>'
        )
    return f'<div class="stats">{"".join(items)}</div>'


def section(title: str, body: str, *, anchor: str = "", note: str = "") -> str:
    ident = f' id="{esc(anchor)}"' if anchor else ""
    note_html = f'<p class="section-note">{esc(note)}</p>' if note else ""
    return f'<section class="card"{ident}><h2>{esc(title)}</h2>{note_html}{body}</section>'


def empty_note(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    css_class: str = "",
    numeric: Iterable[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """A responsive table. ``rows`` hold markup already escaped by the caller (use :func:`cell`)."""
    numeric_cols = set(numeric)
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric_cols else ""}>{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{esc(row_classes[r])}"' if row_classes and row_classes[r] else ""
        tds = "".join(
            f"<td{' class=num' if i in numeric_cols else ''}>{value}</td>" for i, value in enumerate(row)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    cls_attr = f' class="{esc(css_class)}"' if css_class else ""
    return (
        f'<div class="table-wrap"><table{cls_attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def definition_list(items: Iterable[tuple[str, str]], *, css_class: str = "") -> str:
    """``items`` are (label text, value markup already escaped)."""
    parts = [f"<dt>{esc(label)}</dt><dd>{value}</dd>" for label, value in items]
    cls = f"dl {css_class}".strip()
    return f'<dl class="{esc(cls)}">{"".join(parts)}</dl>' if parts else ""


def mono(value: Any) -> str:
    return f'<code class="mono">{esc(fmt_value(value))}</code>' if value not in (None, "") else MISSING


def object_row(
    role: str,
    uri: str,
    version_id: str | None = None,
    sha256: str | None = None,
    fingerprint: str | None = None,
) -> list[str]:
    """A lineage table row: role, object, version, the start of its SHA-256 (whole in the title)."""
    return [
        esc(role) + (f'<span class="sub">{esc(fingerprint)}</span>' if fingerprint else ""),
        mono(uri),
        mono(version_id),
        f'<code class="mono" title="{esc(sha256)}">{esc(sha256[:12])}\u2026</code>' if sha256 else MISSING,
    ]


def ref_row(role: str, ref: Any) -> list[str] | None:
    """A lineage table row for an object reference ({uri, version_id, sha256} or a URI), else None."""
    if isinstance(ref, str):
        return [esc(role), mono(ref), MISSING, MISSING] if "://" in ref else None
    if not isinstance(ref, Mapping) or not (ref.get("uri") or ref.get("key")):
        return None
    sha, fingerprint = ref.get("sha256"), ref.get("fingerprint")
    return object_row(
        role,
        str(ref.get("uri") or ref.get("key")),
        ref.get("version_id"),
        str(sha) if sha else None,
        str(fingerprint) if fingerprint else None,
    )


def refs_table(rows: Sequence[Sequence[str]]) -> str:
    return table(["Role", "Object", "Version", "SHA-256"], rows, css_class="compact refs")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


_MACHINE_TEXT = re.compile(r"^([0-9a-fA-F]{32,}|[a-z][a-z0-9+.-]*://\S+|arn:\S+)$")


def render_value(value: Any, *, depth: int = 0) -> str:
    """Generic, escaped rendering of any JSON-like value (the fallback of every report).

    Mappings become definition lists, lists of mappings tables, lists of scalars bullet lists.
    Keys in :data:`SECRET_KEYS` are replaced by a note: reports never show sampled values.
    """
    if isinstance(value, str) and _MACHINE_TEXT.match(value):
        return mono(value)  # hashes, URIs, ARNs: monospace, breakable
    if _is_scalar(value) or depth > 6:
        return cell(value)
    if isinstance(value, Mapping):
        if not value:
            return MISSING
        return definition_list(labelled_items(value, depth=depth + 1), css_class="dl-nested" if depth else "")
    if isinstance(value, (list, tuple)):
        if not value:
            return MISSING
        if all(isinstance(v, Mapping) for v in value):
            return records_table(value, depth=depth)
        if all(_is_scalar(v) for v in value):
            if len(value) <= 6 and sum(len(fmt_value(v)) for v in value) < 80:
                return ", ".join(cell(v) for v in value)
            return "<ul>" + "".join(f"<li>{cell(v)}</li>" for v in value) + "</ul>"
        return "<ul>" + "".join(f"<li>{render_value(v, depth=depth + 1)}</li>" for v in value) + "</ul>"
    return esc(str(value))


def labelled_items(
    mapping: Mapping[str, Any], *, skip: Iterable[str] = (), depth: int = 0
) -> list[tuple[str, str]]:
    """(label, value markup) pairs of a mapping; keys in :data:`SECRET_KEYS` are withheld."""
    skipped = set(skip)
    items = []
    for key, item in mapping.items():
        if key in skipped:
            continue
        if str(key).lower() in SECRET_KEYS:
            items.append((humanize(key), '<span class="muted">(withheld)</span>'))
        else:
            items.append((humanize(key), render_value(item, depth=depth)))
    return items


def records_table(records: Sequence[Mapping[str, Any]], *, depth: int = 0) -> str:
    """A table with one column per key (first-seen order) of a list of records."""
    columns: list[str] = []
    for record in records:
        for key in record:
            if key not in columns and str(key).lower() not in SECRET_KEYS:
                columns.append(key)
    numeric = [i for i, c in enumerate(columns) if all(_is_number(r.get(c)) for r in records if c in r)]
    rows = []
    for record in records:
        row = []
        for column in columns:
            item = record.get(column)
            row.append(cell(item) if _is_scalar(item) else render_value(item, depth=depth + 1))
        rows.append(row)
    return table([humanize(c) for c in columns], rows, numeric=numeric, css_class="compact")


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


# ---------------------------------------------------------------------------------------------
# The page shell

CSS = """
:root{--ink:#1f2933;--muted:#52606d;--faint:#7b8794;--line:#d9e2ec;--bg:#f4f6f9;--card:#fff;
--ok:#17663a;--ok-bg:#e6f4ea;--ok-line:#35a162;--warn:#8a4b00;--warn-bg:#fff4dc;--warn-line:#e0a100;
--bad:#a61b1b;--bad-bg:#fdecea;--bad-line:#d64545;--info:#1f4e9c;--info-bg:#e8f0fd;--info-line:#3d7be0;
--ref:#a3adb8;--cur:#2563eb;}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",
"Liberation Sans",sans-serif;font-variant-numeric:tabular-nums}
.page{max-width:1200px;margin:0 auto;padding:24px 24px 48px}
header.top{display:flex;flex-wrap:wrap;align-items:flex-end;justify-content:space-between;gap:8px 24px;
margin-bottom:16px}
.eyebrow{margin:0;font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;
color:var(--muted)}
h1{margin:2px 0 0;font-size:26px;line-height:1.25;font-weight:650;word-break:break-word}
.meta{margin:0;color:var(--muted);font-size:13px;text-align:right}
.meta span{display:inline-block;margin-left:14px}
.meta b{color:var(--ink);font-weight:600}
h2{margin:0 0 12px;font-size:17px;font-weight:650}
h3{margin:18px 0 8px;font-size:14px;font-weight:650;color:var(--ink)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;
margin:16px 0;break-inside:avoid-page}
.section-note{margin:-6px 0 12px;color:var(--muted);font-size:13px}
.table-wrap+.section-note{margin:6px 0 0}
.dl+.table-wrap,.dl+p,p+.table-wrap{margin-top:12px}
.chart-metric{margin:0 0 12px}
.banner{display:flex;gap:16px;align-items:center;border-radius:10px;padding:16px 20px;margin:0 0 16px;
border:1px solid;border-left-width:8px}
.banner p{margin:0}
.banner-icon{font-size:28px;line-height:1;width:40px;height:40px;border-radius:50%;display:flex;
align-items:center;justify-content:center;color:#fff;flex:none}
.banner-label{font-size:12px;font-weight:600;letter-spacing:.08em;text-transform:uppercase;opacity:.85}
.banner-headline{font-size:21px;font-weight:700;line-height:1.3}
.banner-detail{font-size:14px;margin-top:2px!important}
.banner-ok{background:var(--ok-bg);border-color:var(--ok-line);color:var(--ok)}
.banner-ok .banner-icon{background:var(--ok-line)}
.banner-warn{background:var(--warn-bg);border-color:var(--warn-line);color:var(--warn)}
.banner-warn .banner-icon{background:var(--warn-line)}
.banner-bad{background:var(--bad-bg);border-color:var(--bad-line);color:var(--bad)}
.banner-bad .banner-icon{background:var(--bad-line)}
.banner-info,.banner-muted{background:var(--info-bg);border-color:var(--info-line);color:var(--info)}
.banner-info .banner-icon,.banner-muted .banner-icon{background:var(--info-line)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:0 0 16px}
.stat{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--line);
border-radius:8px;padding:10px 14px;display:flex;flex-direction:column;min-width:0}
.stat-ok{border-left-color:var(--ok-line)}.stat-warn{border-left-color:var(--warn-line)}
.stat-bad{border-left-color:var(--bad-line)}.stat-info{border-left-color:var(--info-line)}
.stat-label{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
.stat-value{font-size:24px;font-weight:700;line-height:1.3;word-break:break-word}
.stat-note{font-size:12.5px;color:var(--muted)}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:0 -4px;padding:0 4px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:middle;padding:8px 10px;border-bottom:1px solid var(--line)}
th{font-size:12px;font-weight:650;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;
border-bottom:2px solid var(--line);white-space:nowrap;background:#fafbfc}
tbody tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;white-space:nowrap}td.num .evidence{white-space:normal;min-width:13em}
table.compact th,table.compact td{padding:5px 8px;font-size:13px}
tr.row-drift td:first-child{box-shadow:inset 4px 0 0 var(--bad-line)}
tr.row-warn td:first-child{box-shadow:inset 4px 0 0 var(--warn-line)}
tr.row-fail td:first-child{box-shadow:inset 4px 0 0 var(--bad-line)}
.feature-name{font-weight:600;overflow-wrap:break-word;max-width:220px}
table.features td:first-child,table.checks td:nth-child(2){min-width:160px}
.sub{display:block;font-size:12px;color:var(--faint);font-weight:400}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:650;
border:1px solid;white-space:nowrap;line-height:1.6}
.badge-ok{color:var(--ok);background:var(--ok-bg);border-color:#b7dfc4}
.badge-warn{color:var(--warn);background:var(--warn-bg);border-color:#f0d48a}
.badge-bad{color:var(--bad);background:var(--bad-bg);border-color:#f3b8b3}
.badge-info{color:var(--info);background:var(--info-bg);border-color:#bcd2f7}
.badge-muted{color:var(--muted);background:#eef1f4;border-color:#d3d9e0}
.kind{font-size:12px;color:var(--muted);background:#f0f3f6;border-radius:4px;padding:1px 6px;
white-space:nowrap}
.scorebox{display:flex;flex-direction:column;gap:2px;min-width:130px}
.scoretext{font-size:12.5px;color:var(--muted);white-space:nowrap}
.scoretext b{color:var(--ink)}
svg{display:block;overflow:visible}
svg text{font-family:inherit}
.chart-wide{width:100%;height:auto;max-width:100%}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;color:var(--muted);margin:0 0 10px;
align-items:center}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:6px}
.swatch-ref{background:var(--ref)}.swatch-cur{background:var(--cur)}
.swatch-line{height:0;border-top:2px dashed var(--bad-line);border-radius:0;width:18px;vertical-align:3px}
.toolbar{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:8px}
a.download{font-size:13px;color:var(--info);text-decoration:none;border:1px solid #bcd2f7;
border-radius:6px;padding:3px 10px;background:var(--info-bg)}
.dl{display:grid;grid-template-columns:minmax(140px,max-content) 1fr;gap:6px 18px;margin:0}
.dl dt{color:var(--muted);font-size:13.5px;font-weight:600}
.dl dd{margin:0;min-width:0;word-break:break-word}
.dl-nested{font-size:13.5px}
.dl-cols{grid-template-columns:minmax(140px,max-content) 1fr minmax(140px,max-content) 1fr}
.refs td{white-space:nowrap}.refs td:nth-child(2){white-space:normal}
.refs .mono{word-break:normal}.refs td:nth-child(2) .mono{word-break:break-all}
.chart-stack{width:100%;height:16px;border-radius:4px}
.worse{color:var(--bad)}
td .dl{gap:1px 12px;font-size:13px;grid-template-columns:max-content 1fr}
td .dl dt{font-size:12.5px}
td ul{padding-left:16px}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:12.5px;background:#f2f4f7;border-radius:4px;padding:1px 5px;word-break:break-all}
ul{margin:0;padding-left:20px}
li{margin:2px 0}
.muted{color:var(--muted)}
.empty{color:var(--muted);margin:0;font-style:italic}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 16px}
.grid2>.card{margin:16px 0 0}
footer{margin-top:28px;color:var(--faint);font-size:12px;text-align:center}
@media (max-width:760px){.page{padding:14px}.meta{text-align:left}.meta span{margin:0 12px 0 0}
h1{font-size:21px}.grid2{grid-template-columns:1fr}.dl,.dl-cols{grid-template-columns:1fr}
.dl dt{margin-top:6px}}
@media print{body{background:#fff;font-size:12px}.page{max-width:none;padding:0}
.card,.stat{border-color:#bbb}.card{padding:10px 12px;margin:10px 0}a.download{display:none}
.banner,.badge,.stat,.swatch,svg{-webkit-print-color-adjust:exact;print-color-adjust:exact}
tr{break-inside:avoid}.table-wrap{overflow:visible}}
"""


def page(
    *,
    title: str,
    eyebrow: str,
    heading: str,
    meta: Sequence[tuple[str, str]],
    body: str,
    generated_at: str | None = None,
) -> str:
    """A complete HTML document with the shared CSS. ``body`` is markup; the rest is text."""
    meta_html = "".join(f"<span>{esc(label)} <b>{esc(value)}</b></span>" for label, value in meta)
    # the suite's clock, not the wall clock: on the local cloud a page drawn at simulated noon must
    # not say it was generated before the batches it shows
    generated = generated_at or clock.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        '<meta name="referrer" content="no-referrer">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f'<body><div class="page"><header class="top"><div><p class="eyebrow">{esc(eyebrow)}</p>'
        f"<h1>{esc(heading)}</h1></div>"
        f'<p class="meta">{meta_html}</p></header>'
        f"<main>{body}</main>"
        f"<footer>Model Steward \u00b7 generated {esc(generated)} \u00b7 self-contained report "
        "(no scripts, no external resources)</footer></div></body></html>\n"
    )
