"""Report charts: matplotlib figures written as vector SVG (text as paths, see :mod:`.fonts`).

Every chart carries a title, axis labels with units, the n it rests on and a source line, and uses
the Okabe–Ito colour-blind-safe palette with distinct marker shapes, so it reads in greyscale too.
Functions take the findings model and a translator and return SVG markup; they compute nothing.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display: reports are built on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402

from analysis.report.model import Findings, NormFindings  # noqa: E402

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluishgreen": "#009E73",
    "orange": "#E69F00",
    "skyblue": "#56B4E9",
    "reddishpurple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
KIND_STYLE = {
    "awareness": {"color": OKABE_ITO["blue"], "marker": "o"},
    "practice": {"color": OKABE_ITO["vermillion"], "marker": "D"},
    "gap": {"color": OKABE_ITO["bluishgreen"], "marker": "s"},
}
INK = "#222222"
REFERENCE_LINE = "#767676"
"""The dashed overall-mean line of the subgroup charts: 4.5:1 on white (Okabe–Ito grey #999999
is 2.8:1, under the 3:1 WCAG 1.4.11 asks of graphics a reader needs)."""


def _fmt_n(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def _finish(fig, title: str, source: str, lang: str) -> str:
    width = 62 if lang == "zh" else 110
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold", color=INK)
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap(source, width)), fontsize=7, color="#555555",
             ha="left", va="bottom")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _source_name(findings: Findings, lang: str) -> str:
    """The source line names the survey (or the caller's label for the data), never a file."""
    return findings.data_source or findings.survey_title[lang]


def _style_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def overview_chart(findings: Findings, _, lang: str) -> str:
    """Awareness vs practice for each norm in the current wave, with 95% CIs (dumbbell chart)."""
    wave = findings.current_wave
    norms = list(findings.norms)
    height = (0.42 if lang == "zh" else 0.46) * len(norms) + 1.6
    fig, ax = plt.subplots(figsize=(7.0, height))
    fig.subplots_adjust(left=0.30, right=0.97, top=1 - 0.6 / height, bottom=0.75 / height)
    ys = list(range(len(norms)))[::-1]
    for y, norm in zip(ys, norms, strict=True):
        a = norm.estimates["awareness"].get(wave)
        p = norm.estimates["practice"].get(wave)
        if a is not None and p is not None:
            ax.plot([p.value, a.value], [y, y], color="#bbbbbb", linewidth=2.5, zorder=1)
    for offset, kind in ((0.12, "awareness"), (-0.12, "practice")):
        pts = [(y + offset, n.estimates[kind][wave]) for y, n in zip(ys, norms, strict=True)
               if wave in n.estimates[kind]]
        if not pts:
            continue
        st = KIND_STYLE[kind]
        ax.errorbar([e.value for _y, e in pts], [y for y, _e in pts],
                    xerr=[[e.value - e.ci_low for _y, e in pts],
                          [e.ci_high - e.value for _y, e in pts]],
                    fmt=st["marker"], color=st["color"], ecolor=st["color"], elinewidth=1,
                    capsize=2, markersize=5, label=_(f"kind_{kind}"), zorder=3)
    ax.set_yticks(ys)
    # long English titles wrap onto two lines instead of running off the figure
    width = 16 if lang == "zh" else 36
    ax.set_yticklabels(["\n".join(textwrap.wrap(f"{n.code} {n.name(lang)}", width))
                        for n in norms], fontsize=8)
    ax.set_xlabel(_("axis_score"), fontsize=8, color=INK)
    lows = [e.ci_low for n in norms for k in ("awareness", "practice")
            for e in [n.estimates[k].get(wave)] if e]
    highs = [e.ci_high for n in norms for k in ("awareness", "practice")
             for e in [n.estimates[k].get(wave)] if e]
    if lows:
        lo, hi = min(lows), max(highs)
        pad = max(2.0, 0.08 * (hi - lo))
        ax.set_xlim(max(0, lo - pad), min(100, hi + pad))
    _style_axes(ax)
    ax.legend(loc="lower center", bbox_to_anchor=(0.35, 1.0), ncol=2, fontsize=8, frameon=False)
    n = findings.wave(wave).n_analysed
    source = _("chart_source", source=_source_name(findings, lang), wave=wave, n=_fmt_n(n))
    return _finish(fig, _("chart_overview_title", wave=wave), source, lang)


def _break_label(norm: NormFindings, a: int, b: int, _) -> str | None:
    """Label of the break between waves ``a`` and ``b`` (consecutive runs): the scores and the
    items whose wording version or presence differs between the two waves."""
    kinds, wording, other = [], [], []
    for kind in ("awareness", "practice"):
        for c in norm.trend_breaks.get(kind, ()):
            status = dict(c.versions)
            in_a, in_b = a in status, b in status
            if in_a and in_b and status[a] != status[b]:
                wording.append(c.item)
            elif in_a != in_b:
                other.append(c.item)
            else:
                continue
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        return None
    items = ", ".join(dict.fromkeys(wording + other))
    kind = _("years_sep").join(_(f"kind_{k}") for k in kinds)
    if other:
        return _("chart_break_items", kind=kind, items=items)
    return _("chart_break_wording", kind=kind, items=items)


def trend_chart(norm: NormFindings, findings: Findings, _, lang: str) -> str:
    """Awareness and practice of one norm over the waves, with 95% CI bands.

    Where the items or their wording differ between waves (``norm.segments``), the points are
    not joined across the change: each run of comparable waves gets its own line and band, a
    dashed vertical line marks the change with the items' codes, and points not comparable with
    the current wave are drawn hollow.
    """
    waves = findings.wave_years
    current = findings.current_wave
    fig, ax = plt.subplots(figsize=(7.0, 2.9))
    fig.subplots_adjust(left=0.09, right=0.97, top=0.80, bottom=0.30)
    boundaries: set[tuple[int, int]] = set()
    for kind in ("awareness", "practice"):
        series = dict((w, norm.estimates[kind][w]) for w in waves if w in norm.estimates[kind])
        if not series:
            continue
        st = KIND_STYLE[kind]
        runs = norm.segments.get(kind) or (tuple(waves),)
        for prev, run in zip(runs, runs[1:], strict=False):
            boundaries.add((prev[-1], run[0]))
        labelled = False
        for run in runs:
            pts = [(w, series[w]) for w in run if w in series]
            if not pts:
                continue
            xs = [w for w, _e in pts]
            hollow = current not in run and kind in norm.segments
            ax.fill_between(xs, [e.ci_low for _w, e in pts], [e.ci_high for _w, e in pts],
                            color=st["color"], alpha=0.18, linewidth=0)
            if len(pts) == 1:  # a band needs two points: show the CI as an error bar
                e = pts[0][1]
                ax.errorbar(xs, [e.value], yerr=[[e.value - e.ci_low], [e.ci_high - e.value]],
                            fmt="none", ecolor=st["color"], elinewidth=1, capsize=3, alpha=0.6)
            ax.plot(xs, [e.value for _w, e in pts], marker=st["marker"], color=st["color"],
                    linewidth=1.6, markersize=5,
                    markerfacecolor="white" if hollow else st["color"],
                    label=None if labelled else _(f"kind_{kind}"))
            labelled = True
    if boundaries:  # room above the lines for the labels of the changes
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.22 * (hi - lo))
    for a, b in sorted(boundaries):
        x = (a + b) / 2
        ax.axvline(x, color="#555555", linewidth=1, linestyle="--", zorder=0.5)
        label = _break_label(norm, a, b, _)
        if label:
            ax.text(x, 0.97, label, transform=ax.get_xaxis_transform(), ha="center", va="top",
                    fontsize=7, color=INK,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="#999999", alpha=0.35, linewidth=0))
    labels.append(_("ci95"))
    ax.set_xticks(waves)
    ax.set_xticklabels([str(w) for w in waves])
    ax.set_xlabel(_("axis_wave"), fontsize=8, color=INK)
    ax.set_ylabel(_("axis_score"), fontsize=8, color=INK)
    if len(waves) > 1:
        ax.set_xlim(min(waves) - 0.3, max(waves) + 0.3)
    _style_axes(ax)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8,
              frameon=False)
    ns = " / ".join(f"{w}: {_fmt_n(findings.wave(w).n_analysed)}" for w in waves)
    source = _("chart_source_trend", source=_source_name(findings, lang), n=ns)
    if boundaries:
        source += " " + _("chart_break_note")
    label = norm.name(lang) if norm.code == "index" else f"{norm.code} {norm.name(lang)}"
    title = _("chart_trend_title", code=label, first=waves[0], last=waves[-1])
    return _finish(fig, title, source, lang)


def subgroup_chart(norm: NormFindings, findings: Findings, _, lang: str) -> str | None:
    """Practice score of one norm by subgroup (current wave) with 95% CIs; small groups left out
    and marked. Returns None when the norm has no subgroup estimates."""
    from analysis.report.i18n import category_label, variable_label

    rows: list[tuple[str, object]] = []  # (label, SubgroupEstimate | variable header)
    for variable, groups in norm.subgroups.items():
        rows.append((variable_label(variable, lang), None))
        for g in groups:
            rows.append(("  " + category_label(variable, g.group, lang), g))
    if not rows:
        return None
    height = 0.15 * len(rows) + 1.3
    fig, ax = plt.subplots(figsize=(7.0, height))
    fig.subplots_adjust(left=0.30, right=0.97, top=1 - 0.45 / height, bottom=0.8 / height)
    ys = list(range(len(rows)))[::-1]
    st = KIND_STYLE["practice"]
    shown = [(y, g) for y, (_lbl, g) in zip(ys, rows, strict=True) if g is not None and not g.small]
    if shown:
        ax.errorbar([g.estimate.value for _y, g in shown], [y for y, _g in shown],
                    xerr=[[g.estimate.value - g.estimate.ci_low for _y, g in shown],
                          [g.estimate.ci_high - g.estimate.value for _y, g in shown]],
                    fmt=st["marker"], color=st["color"], elinewidth=1, capsize=2, markersize=4)
        xs = [g.estimate.ci_low for _y, g in shown] + [g.estimate.ci_high for _y, g in shown]
        lo, hi = min(xs), max(xs)
        pad = max(1.5, 0.08 * (hi - lo))
        ax.set_xlim(max(0, lo - pad), min(100, hi + pad))
    overall = norm.estimates["practice"].get(findings.current_wave)
    if overall is not None:
        ax.axvline(overall.value, color=REFERENCE_LINE, linewidth=1, linestyle="--")
    for y, (_lbl, g) in zip(ys, rows, strict=True):
        if g is not None and g.small:
            ax.text(0.02, y, _("chart_suppressed", min_n=findings.min_n),
                    transform=ax.get_yaxis_transform(),
                    fontsize=7, color="#555555", va="center")
    ax.set_yticks(ys)
    ax.set_yticklabels([lbl for lbl, _g in rows], fontsize=7)
    for tick, (_lbl, g) in zip(ax.get_yticklabels(), rows, strict=True):
        if g is None:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(_("axis_score"), fontsize=8, color=INK)
    _style_axes(ax)
    n = findings.wave(findings.current_wave).n_analysed
    source = _("chart_source", source=_source_name(findings, lang), wave=findings.current_wave,
               n=_fmt_n(n))
    label = norm.name(lang) if norm.code == "index" else f"{norm.code} {norm.name(lang)}"
    title = _("chart_subgroup_title", code=label, wave=findings.current_wave)
    return _finish(fig, title, source, lang)
