"""Render a :class:`~analysis.report.model.Findings` as HTML or PDF from one set of templates.

The HTML page and the PDF come from the same Jinja templates (``templates/report/``) and the same
CSS; WeasyPrint lays the HTML out on A4 pages (print CSS with running page numbers) and embeds the
fonts it uses. Charts are inline SVG (vector, text as paths). Nothing here computes a statistic: the
executive summary is worded from the comparisons and trends in the model.

Public API: :func:`render_html`, :func:`write_report`, :func:`summary_sentences`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from analysis.report import charts
from analysis.report.fonts import CJKFont, configure_matplotlib, find_cjk_font
from analysis.report.i18n import category_label, translator, variable_label
from analysis.report.model import INDICATOR_KINDS, Comparison, Findings

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "report"
"""``templates/report`` of the project (all Jinja templates live under ``templates/``)."""

SECTIONS = ("summary", "overview", "norms", "table", "methodology")
"""Optional sections, in report order; a plan may switch any of them off."""


# --- number formatting (one place, so text, tables and tests agree) ----------------------------

def fmt_score(x: float | None) -> str:
    """Scores, CIs and differences in points: one decimal."""
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.1f}"


def fmt_se(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.2f}"


def fmt_signed(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{x:+.1f}"
    return "±0.0" if text in ("+0.0", "-0.0") else text


def fmt_p(p: float | None) -> str:
    """``p < 0.001``, ``p < 0.01`` or ``p = 0.023``."""
    if p is None or not math.isfinite(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return "p < 0.01"
    return f"p = {p:.3f}"


def fmt_int(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def fmt_sci(x: float | None) -> str:
    """Tiny quantities such as a converged raking's relative margin error: ``3.2e-11``."""
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.1e}"


def fmt_share(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{100 * x:.1f}%"


# --- executive summary -------------------------------------------------------------------------

def summary_sentences(findings: Findings, lang: str) -> list[str]:
    """The executive summary, one sentence per item, worded from the statistics in ``findings``.

    Only changes marked significant (adjusted p at the plan's alpha) are called rises or falls;
    every other comparison is listed as stable.
    """
    _ = translator(lang)
    base, wave = findings.base_wave, findings.current_wave
    out: list[str] = []
    for kind in ("practice", "awareness"):
        idx = findings.overall.estimates.get(kind, {}).get(wave)
        if idx is None:
            continue
        values = dict(wave=wave, kind=_(f"kindidx_{kind}"),
                      value=fmt_score(idx.value), lo=fmt_score(idx.ci_low),
                      hi=fmt_score(idx.ci_high), base=base)
        c = findings.overall.comparisons.get(kind)
        if c is None:
            out.append(_("sum_index_only", **values))
        elif c.direction == "stable":
            out.append(_("sum_index_stable", diff=fmt_signed(c.diff), p=fmt_p(c.p_adjusted),
                         **values))
        else:
            out.append(_(f"sum_index_{c.direction}", diff=fmt_score(abs(c.diff)),
                         p=fmt_p(c.p_adjusted), **values))

    changes: list[tuple[float, str]] = []
    stable: dict[str, list[str]] = {"practice": [], "awareness": []}
    for norm in findings.norms:
        for kind in ("practice", "awareness"):
            c = norm.comparisons.get(kind)
            if c is None:
                continue
            label = f"{norm.code} {norm.name(lang)}"
            if c.direction == "stable":
                stable[kind].append(label)
            else:
                changes.append((c.p_adjusted, _(f"sum_change_{c.direction}", norm=label,
                                                kind=_(f"kindlc_{kind}"),
                                                diff=fmt_score(abs(c.diff)),
                                                base=base,
                                                p=fmt_p(c.p_adjusted))))
    changes.sort(key=lambda t: t[0])
    out.extend(text for _p, text in changes)
    if not changes and any(stable.values()):
        out.append(_("sum_none_changed", base=base))
    else:
        for kind, labels in stable.items():
            if labels:
                out.append(_("sum_stable", base=base, kind=_(f"kindlc_{kind}"),
                             items=_("list_sep").join(labels)))

    gaps = [(n, n.estimates["gap"][wave]) for n in findings.norms if wave in n.estimates["gap"]]
    if gaps:
        norm, gap = max(gaps, key=lambda t: t[1].value)
        out.append(_("sum_gap", norm=f"{norm.code} {norm.name(lang)}",
                     a=fmt_score(norm.estimates["awareness"][wave].value),
                     pr=fmt_score(norm.estimates["practice"][wave].value),
                     g=fmt_score(gap.value)))

    years = findings.wave_years
    trended = [n for n in findings.norms if "practice" in n.trends]
    if trended and len(years) >= 3:
        sig = [n for n in trended if n.trends["practice"].p_decision < findings.alpha]
        if sig:
            items = _("list_sep").join(
                _("sum_trend_item", norm=f"{n.code} {n.name(lang)}",
                  slope=fmt_signed(n.trends["practice"].slope)) for n in sig)
            if len(sig) == 1:
                out.append(_("sum_trend_one", first=years[0], last=years[-1], items=items))
            else:
                out.append(_("sum_trend", first=years[0], last=years[-1], count=len(sig),
                             items=items))
        else:
            out.append(_("sum_trend_none", first=years[0], last=years[-1]))
    return out


# --- rendering ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RenderedReport:
    path: Path
    format: str
    language: str
    font: CJKFont
    pages: int | None = None
    """PDF pages (None for HTML)."""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(score=fmt_score, se=fmt_se, signed=fmt_signed, p=fmt_p, int=fmt_int,
                       share=fmt_share, sci=fmt_sci)
    return env


def _svg_data_uri(svg: str | None) -> str | None:
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_html(findings: Findings, lang: str = "zh", sections: tuple[str, ...] = SECTIONS,
                font: CJKFont | None = None,
                progress: Callable[[str], None] | None = None, svg_text: str = "path") -> str:
    """The report as one self-contained HTML document (CSS inline, charts as SVG data URIs).

    ``svg_text``: chart text as outlines (``"path"``, for HTML read anywhere) or as text in the
    report font (``"text"``, for WeasyPrint, which embeds the font) — see
    :func:`analysis.report.fonts.configure_matplotlib`.
    """
    _ = translator(lang)
    font = font or find_cjk_font()
    configure_matplotlib(font, svg_text)
    tick = progress or (lambda _step: None)

    figures: dict[str, str | None] = {}
    if "summary" in sections and len(findings.wave_years) > 1:
        figures["index_trend"] = _svg_data_uri(
            charts.trend_chart(findings.overall, findings, _, lang))
    if "overview" in sections:
        figures["overview"] = _svg_data_uri(charts.overview_chart(findings, _, lang))
        figures["subgroups_index"] = _svg_data_uri(
            charts.subgroup_chart(findings.overall, findings, _, lang))
    tick("charts")
    if "norms" in sections:
        for norm in findings.norms:
            figures[f"trend_{norm.code}"] = _svg_data_uri(
                charts.trend_chart(norm, findings, _, lang))
            figures[f"subgroups_{norm.code}"] = _svg_data_uri(
                charts.subgroup_chart(norm, findings, _, lang))
            tick("charts")

    env = _environment()
    template = env.get_template("report.html")
    html = template.render(
        f=findings, lang=lang, _=_, sections=sections, figures=figures, font=font,
        kinds=INDICATOR_KINDS, summary=summary_sentences(findings, lang) if "summary" in sections
        else [], category_label=lambda v, c: category_label(v, c, lang),
        variable_label=lambda v: variable_label(v, lang), verdict=_verdict,
        split_columns=split_columns,
        today=(findings.generated or date.today()).isoformat(),
        html_lang="zh-Hans" if lang == "zh" else "en",
    )
    tick("html")
    return html


def split_columns(subgroups: dict) -> list[list]:
    """Split ``{variable: groups}`` into two lists of ``(variable, groups)`` of about equal rows,
    for the two side-by-side subgroup tables."""
    items = list(subgroups.items())
    total = sum(len(g) + 1 for _v, g in items)
    left, rows = [], 0
    for variable, groups in items:
        if rows and rows + (len(groups) + 1) / 2 > total / 2:
            break
        left.append((variable, groups))
        rows += len(groups) + 1
    right = items[len(left):]
    return [half for half in (left, right) if half]


def _verdict(c: Comparison | None) -> str:
    return "verdict_na" if c is None else f"verdict_{c.direction}"


def write_report(findings: Findings, out: str | Path, lang: str = "zh", fmt: str | None = None,
                 sections: tuple[str, ...] = SECTIONS,
                 progress: Callable[[str], None] | None = None) -> RenderedReport:
    """Write the report to ``out`` as ``pdf`` or ``html`` (default: from the file suffix, else PDF).

    The file is written to a temporary name first and renamed, so a failed run leaves no half file.
    """
    out = Path(out)
    fmt = (fmt or ("html" if out.suffix.lower() in (".html", ".htm") else "pdf")).lower()
    if fmt not in ("pdf", "html"):
        raise ValueError(f"report format {fmt!r} is not supported; use pdf or html")
    font = find_cjk_font()
    html = render_html(findings, lang=lang, sections=sections, font=font, progress=progress,
                       svg_text="path" if fmt == "html" else "text")
    tmp = out.with_name(out.name + ".part")
    pages = None
    try:
        if fmt == "html":
            tmp.write_text(html, encoding="utf-8")
        else:
            from weasyprint import HTML

            document = HTML(string=html, base_url=str(TEMPLATE_DIR)).render()
            pages = len(document.pages)
            if progress:
                progress("layout")
            document.write_pdf(str(tmp))
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    if progress:
        progress("write")
    return RenderedReport(path=out, format=fmt, language=lang, font=font, pages=pages)
