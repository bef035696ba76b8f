"""Render a :class:`~analysis.report.model.Findings` as HTML or PDF from one set of templates.

The HTML page and the PDF come from the same Jinja templates (``analysis/report/templates/``,
package data shipped in the wheel) and the same CSS; WeasyPrint lays the HTML out on A4 pages
(print CSS with running page numbers) and embeds the fonts it uses. Charts are inline SVG (vector,
text as paths). Nothing here computes a statistic: the executive summary is worded from the
comparisons and trends in the model.

Public API: :func:`render_html`, :func:`write_report`, :func:`summary_sentences`,
:func:`reasons_text`, :func:`not_comparable_sentences`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from analysis.report import charts
from analysis.report.fonts import CJKFont, configure_matplotlib, find_cjk_font
from analysis.report.i18n import category_label, translator, variable_label
from analysis.report.model import (
    INDICATOR_KINDS,
    ComparabilityNote,
    Comparison,
    Findings,
    ItemChange,
    NormFindings,
)

TEMPLATE_PACKAGE, TEMPLATE_FOLDER = "analysis.report", "templates"
"""The report's templates and CSS are package data of :mod:`analysis.report`, loaded through the
package (never by a path relative to the repository), so an installed wheel renders."""

SECTIONS = ("summary", "overview", "norms", "table", "methodology")
"""Optional sections, in report order; a plan may switch any of them off."""

HTML_LANG = {"zh": "zh-CN", "en": "en"}
"""The document language of the page and of the PDF (``/Lang``), by report language."""

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}
"""Tagged PDF/UA-1: a structure tree (headings, lists, tables with their header cells, figures
with the images' alt text) screen readers follow, ``/MarkInfo /Marked true``, the language and
the title from the page (shown as the window title), and the PDF/UA identification in the XMP
metadata. WeasyPrint's ``uncompressed_pdf`` option makes the file readable for debugging."""


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


def p_unadjusted_text(p: float | None, _) -> str:
    """``unadjusted p = 0.094`` / ``未校正p = 0.094``: a raw p-value always says it is raw."""
    return _("p_unadjusted", p=fmt_p(p))


def p_adjusted_text(p: float | None, family: str, size: int, method: str, _) -> str:
    """``Holm-adjusted p = 0.282 over the 3 headline indices`` / ``经Holm法对3项总指数校正后p =
    0.282``: an adjusted p-value names its correction and its family."""
    return _("p_adjusted", adj=_(f"adj_{method}"), p=fmt_p(p),
             family=_(f"family_{family}", n=size))


def p_pair_text(result, method: str, _) -> str:
    """Raw and adjusted p of a :class:`Comparison` or :class:`Trend`, both labelled."""
    raw = p_unadjusted_text(result.p_value, _)
    if result.p_adjusted is None or not result.family:
        return raw
    return _("p_pair", raw=raw, adjusted=p_adjusted_text(
        result.p_adjusted, result.family, result.family_size, method, _))


def change_stats_text(c: Comparison, method: str, _) -> str:
    """What every reported change carries: its 95% CI, the raw p and the adjusted p with its
    family (``95% CI +2.1 to +7.5; unadjusted p < 0.001; Holm-adjusted p < 0.001 over …``)."""
    return _("change_stats", lo=fmt_signed(c.ci_low), hi=fmt_signed(c.ci_high),
             p=p_pair_text(c, method, _))


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


# --- why waves are not comparable, in the report's language ----------------------------------

def years_text(waves, _) -> str:
    """``2025、2026`` / ``2025 and 2026``, ``2024, 2025 and 2026``."""
    waves = [str(w) for w in waves]
    if len(waves) <= 1:
        return "".join(waves)
    return _("years_sep").join(waves[:-1]) + _("years_last_sep") + waves[-1]


def reasons_text(changes: tuple[ItemChange, ...] | list[ItemChange], _) -> str:
    """Why the waves differ, one clause per item, filled with item codes and years: ``N02_P3题目措辞
    有变更（2024年为第1版，2025、2026年为第2版）`` / ``the wording of N02_P3 changed (version 1 in
    2024, version 2 in 2025 and 2026)``."""
    parts = []
    for c in changes:
        if c.wording_changed:
            groups = _("group_sep").join(
                _("why_version_group", version=1 if v is None else v, waves=years_text(ws, _))
                for v, ws in c.version_groups())
            parts.append(_("why_wording", item=c.item, groups=groups))
        if c.missing:
            parts.append(_("why_missing", item=c.item, waves=years_text(c.missing, _)))
    return _("why_sep").join(parts)


def _kinds_label(kinds, _) -> str:
    """``Practice and the knowledge–action gap`` / ``践行得分和知行差距`` (sentence start)."""
    labels = [_(f"kindcap_{kinds[0]}")] + [_(f"kindlc_{k}") for k in kinds[1:]]
    if len(labels) == 1:
        return labels[0]
    return _("years_sep").join(labels[:-1]) + _("kinds_and") + labels[-1]


def _grouped(kinds_breaks: list[tuple[str, tuple[ItemChange, ...]]]):
    """Kinds with the same reasons together, in report order."""
    groups: dict[tuple[ItemChange, ...], list[str]] = {}
    for kind, changes in kinds_breaks:
        groups.setdefault(changes, []).append(kind)
    return [(kinds, changes) for changes, kinds in groups.items()]


def not_comparable_sentences(norm: NormFindings, findings: Findings, _,
                             which: str = "both") -> list[str]:
    """What a norm's page says about indicators whose items or wording differ between waves:
    why no change (base vs current wave; ``which="change"``) and no linear trend (all waves;
    ``which="trend"``) is reported — or, when the plan re-scores on common items, that the
    change/trend leaves out the differing items."""
    base, wave = findings.base_wave, findings.current_wave
    years = findings.wave_years
    out: list[str] = []
    changes_wanted = which in ("both", "change") and base is not None
    missing = [(k, norm.change_breaks.get(k, ())) for k in INDICATOR_KINDS
               if changes_wanted and k not in norm.comparisons]
    for kinds, changes in _grouped(missing):
        if changes:
            out.append(_("nc_change", kind=_kinds_label(kinds, _), base=base,
                         reasons=reasons_text(changes, _)))
        else:
            out.append(_("nc_change_other", kind=_kinds_label(kinds, _), base=base))
    common = [(k, norm.change_breaks[k]) for k in INDICATOR_KINDS
              if changes_wanted and k in norm.comparisons and norm.change_breaks.get(k)]
    for kinds, changes in _grouped(common):
        out.append(_("nc_common_change", kind=_kinds_label(kinds, _), base=base, wave=wave,
                     items=_("list_sep").join(c.item for c in changes),
                     reasons=reasons_text(changes, _)))
    if len(years) >= 3 and which in ("both", "trend"):
        for kind in ("awareness", "practice"):
            changes = norm.trend_breaks.get(kind)
            if not changes:
                continue
            values = dict(kind=_kinds_label([kind], _), first=years[0], last=years[-1],
                          reasons=reasons_text(changes, _))
            if kind in norm.trends:  # re-scored on the items every wave shares (common_items)
                out.append(_("nc_common_trend", items=_("list_sep").join(c.item for c in changes),
                             **values))
            else:
                out.append(_("nc_trend", **values))
    return out


def norm_version_groups(findings: Findings, _) -> str:
    """``2024年依据2018年版，2025、2026年依据2023年版`` from the waves' norms versions."""
    groups: dict[str, list[int]] = {}
    for w in findings.waves:
        if w.norm_version:
            groups.setdefault(w.norm_version, []).append(w.wave)
    return _("group_sep").join(_("norm_version_group", version=v, waves=years_text(ws, _))
                               for v, ws in groups.items())


def indicator_label(item: str, _) -> str:
    """Reader's name of an indicator: ``N02.practice`` -> ``N02 践行得分`` / ``N02 practice``;
    ``index.gap`` -> ``知行差距总指数`` / ``overall knowledge–action gap index``."""
    code, _dot, kind = item.partition(".")
    if kind not in INDICATOR_KINDS:
        return item  # a raw item code
    if code == "index":
        return _("indicator_index", kind=_(f"kindidx_{kind}"))
    return f"{code} {_(f'kindind_{kind}')}"


def comparability_text(note: ComparabilityNote, findings: Findings, _, lang: str) -> str:
    """One line of the annex's comparability notes, in the report's language."""
    norm_label = ""
    if note.norm:
        norm = next((n for n in findings.norms if n.code == note.norm), None)
        norm_label = f"{note.norm} {norm.name(lang)}" if norm else note.norm
    if note.kind == "not_comparable":
        waves = years_text(note.waves or findings.wave_years, _)
        item = indicator_label(note.item or "", _)
        item = item[:1].upper() + item[1:]  # starts the line
        if note.changes:
            return _("cmp_not_comparable", item=item, waves=waves,
                     reasons=reasons_text(note.changes, _))
        return _("cmp_not_comparable_other", item=item, waves=waves, detail=note.detail)
    if note.kind == "wording_changed":
        return _("cmp_wording_changed", norm=norm_label,
                 groups=norm_version_groups(findings, _))
    return _(f"cmp_{note.kind}", norm=norm_label, item=note.item or "", detail=note.detail)


# --- executive summary -------------------------------------------------------------------------

def summary_sentences(findings: Findings, lang: str) -> list[str]:
    """The executive summary, one sentence per item, worded from the statistics in ``findings``.

    Only changes marked significant (adjusted p at the plan's alpha) are called rises or falls;
    every other comparison is listed as stable.
    """
    _ = translator(lang)
    base, wave = findings.base_wave, findings.current_wave
    out: list[str] = []
    method = findings.adjustment
    for kind in ("practice", "awareness", "gap"):
        idx = findings.overall.estimates.get(kind, {}).get(wave)
        if idx is None:
            continue
        values = dict(wave=wave, kind=_(f"kindidx_{kind}"),
                      value=fmt_score(idx.value), lo=fmt_score(idx.ci_low),
                      hi=fmt_score(idx.ci_high), base=base)
        c = findings.overall.comparisons.get(kind)
        if c is None and findings.overall.change_breaks.get(kind):
            out.append(_("sum_index_nc", reasons=reasons_text(
                findings.overall.change_breaks[kind], _), **values))
        elif c is None:
            out.append(_("sum_index_only", **values))
        elif c.direction == "stable":
            out.append(_("sum_index_stable", diff=fmt_signed(c.diff),
                         stats=change_stats_text(c, method, _), **values))
        else:
            out.append(_(f"sum_index_{c.direction}", diff=fmt_score(abs(c.diff)),
                         stats=change_stats_text(c, method, _), **values))

    changes: list[tuple[float, str]] = []
    stable: dict[str, list[str]] = {"practice": [], "awareness": []}
    not_compared: list[str] = []
    for norm in findings.norms:
        for kind in ("practice", "awareness"):
            c = norm.comparisons.get(kind)
            label = f"{norm.code} {norm.name(lang)}"
            if c is None:
                # never a change, never "stable": say why it is not compared
                if norm.change_breaks.get(kind):
                    not_compared.append(_("sum_change_nc", norm=label, kind=_(f"kindlc_{kind}"),
                                          base=base,
                                          reasons=reasons_text(norm.change_breaks[kind], _)))
                continue
            if c.direction == "stable":
                stable[kind].append(label)
            else:
                changes.append((c.p_adjusted, _(f"sum_change_{c.direction}", norm=label,
                                                kind=_(f"kindlc_{kind}"),
                                                diff=fmt_score(abs(c.diff)),
                                                base=base,
                                                stats=change_stats_text(c, method, _))))
    changes.sort(key=lambda t: t[0])
    out.extend(text for _p, text in changes)
    if not changes and any(stable.values()):
        out.append(_("sum_none_changed", base=base))
    else:
        for kind, labels in stable.items():
            if labels:
                out.append(_("sum_stable", base=base, kind=_(f"kindlc_{kind}"),
                             items=_("list_sep").join(labels)))
    out.extend(not_compared)

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
    # plan common_items: changes and trends re-scored without the differing items; say so
    rescored, left_out = [], []
    for norm in [findings.overall, *findings.norms]:
        for kind in INDICATOR_KINDS:
            breaks = [c for which, done in ((norm.change_breaks, norm.comparisons),
                                            (norm.trend_breaks, norm.trends))
                      if kind in done for c in which.get(kind, ())]
            if norm.common_items and breaks:
                rescored.append(indicator_label(f"{norm.code}.{kind}", _))
                left_out += [c.item for c in breaks]
    if rescored:
        out.append(_("sum_common_items", targets=_("list_sep").join(rescored),
                     items=_("list_sep").join(dict.fromkeys(left_out))))
    if len(years) >= 3:
        for norm in [findings.overall, *findings.norms]:
            changes = norm.trend_breaks.get("practice")
            if changes and "practice" not in norm.trends:
                label = (_("kind_index") if norm.code == "index"
                         else f"{norm.code} {norm.name(lang)}")
                out.append(_("sum_trend_nc", norm=label, kind=_("kindlc_practice"),
                             first=years[0], last=years[-1], reasons=reasons_text(changes, _)))
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
        loader=PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(score=fmt_score, se=fmt_se, signed=fmt_signed, p=fmt_p, int=fmt_int,
                       share=fmt_share, sci=fmt_sci)
    env.globals.update(p_unadjusted_text=p_unadjusted_text, p_adjusted_text=p_adjusted_text,
                       p_pair_text=p_pair_text)
    return env


def _template_base_url() -> str:
    """Where a relative URL in the report's HTML/CSS resolves: the installed templates folder
    (charts and fonts are inline today; this keeps a future ``url(…)`` working)."""
    return str(resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FOLDER)) + "/"


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
            if len(findings.wave_years) > 1:  # one wave: levels only, no trend chart
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
        variable_list=lambda vs: _("list_sep").join(variable_label(v, lang) for v in vs),
        nc_sentences=lambda norm, which="both": not_comparable_sentences(norm, findings, _, which),
        note_text=lambda note: comparability_text(note, findings, _, lang),
        norm_versions=lambda: norm_version_groups(findings, _),
        software_versions=lambda software: software_text(software, _),
        split_columns=split_columns, distribution_groups=distribution_groups,
        target_caveats=lambda: target_caveats(findings, lang),
        answer_scale=lambda item: answer_scale(item, _, lang),
        years_list=lambda waves: _("q_waves", waves=years_text(waves, _)),
        significant_pairs=lambda norm: [(t, pair) for t in norm.subgroup_tests
                                        for pair in t.pairs if pair.p_adjusted < findings.alpha],
        category_list=lambda v, groups: _("list_sep").join(category_label(v, g, lang)
                                                           for g in groups),
        today=(findings.generated or date.today()).isoformat(),
        html_lang=HTML_LANG[lang],
    )
    tick("html")
    return html


PROJECT_DISTRIBUTION = "ten-norms-survey"
"""This project's own package among the software versions: named in words, not by its
distribution name."""


def software_text(software: dict[str, str], _) -> str:
    """``本项目分析程序0.1.0版、numpy 2.4.6、pandas 3.1.1`` / ``the project's analysis code
    0.1.0, numpy 2.4.6, …``: the versions that computed the report, for the annex."""
    return _("list_sep").join(
        _("m_software_self", version=version) if name == PROJECT_DISTRIBUTION
        else f"{name} {version}" for name, version in software.items())


def distribution_groups(norm: NormFindings) -> list[tuple[str, list]]:
    """A norm's item distributions grouped for one table each: same kind, same answer labels,
    awareness first."""
    groups: dict[tuple, list] = {}
    for d in norm.distributions:
        key = (d.kind, tuple((a.code, tuple(sorted(a.label.items()))) for a in d.answers))
        groups.setdefault(key, []).append(d)
    return sorted(((key[0], items) for key, items in groups.items()),
                  key=lambda g: g[0] != "awareness")


MAX_LISTED_ANSWERS = 8
"""Items with more answers (a province list) show their number of options, not each one."""


def answer_scale(item, _, lang: str) -> str:
    """``1 从不 · 2 很少 · … · 5 总是；9 不适用`` / ``one of 31 options``."""
    if len(item.answers) > MAX_LISTED_ANSWERS:
        text = _("q_many_options", n=len(item.answers))
    else:
        text = _("q_answer_sep").join(_("q_answer", code=code, label=label.get(lang, ""))
                                      for code, label in item.answers)
    if item.not_applicable:
        text += _("q_na_sep") + _("q_answer", code=9, label=item.not_applicable.get(lang, ""))
    return text


def target_caveats(findings: Findings, lang: str) -> list[tuple[str, str]]:
    """``[(variables, caveat), ...]``: each distinct caveat of the weighting targets in
    ``lang`` once, with the variables it applies to (labelled, in target order)."""
    if findings.weighting is None:
        return []
    by_text: dict[str, list[str]] = {}
    for t in findings.weighting.targets:
        text = t.caveat.get(lang)
        if text and t.variable not in by_text.setdefault(text, []):
            by_text[text].append(t.variable)
    _ = translator(lang)
    return [(_("list_sep").join(variable_label(v, lang) for v in variables), text)
            for text, variables in by_text.items()]


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

            document = HTML(string=html, base_url=_template_base_url()).render()
            pages = len(document.pages)
            if progress:
                progress("layout")
            document.write_pdf(str(tmp), **PDF_OPTIONS)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    if progress:
        progress("write")
    return RenderedReport(path=out, format=fmt, language=lang, font=font, pages=pages)
