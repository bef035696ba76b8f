"""A score whose items or wording differ between waves is never reported as a change or a trend.

Wave 2024 asks N02_P3 (air conditioning) in wording version 1 (the 2018 norms' thresholds),
2025 and 2026 in version 2, so N02.practice, N02.gap and the overall practice index and gap are
not comparable between 2024 and later waves. One report with base wave 2024 and current wave 2026
(small synthetic data, no raking) is built once and rendered as Chinese and English PDFs; the
tests read the N02 page, the summary, the indicator table and the annex back with ``pdftotext``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from analysis.report import render
from analysis.report.fonts import NoCJKFontError, configure_matplotlib, find_cjk_font
from analysis.report.i18n import translator
from analysis.report.model import ComparabilityNote, ItemChange

try:
    FONT = find_cjk_font()
except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
    FONT = None
    NO_FONT = str(exc)


WAVES = (2024, 2025, 2026)
N02 = {"zh": "N02 节约能源资源", "en": "N02 Save energy and resources"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if FONT is None:
        pytest.skip(f"no CJK font installed (fonts-noto-cjk): {NO_FONT}")
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) not installed")
    from analysis.report.findings import build_findings
    from analysis.report.plan import plan_from_dict
    from analysis.synthetic import make_responses

    data = make_responses(600, waves=WAVES, seed=5)
    plan = plan_from_dict({
        "waves": list(WAVES), "base_wave": 2024, "current_wave": 2026,
        "design": {"weight": "base_weight", "strata": "stratum", "psu": "psu"},
        "subgroups": [], "subgroup_tests": "none",
        "sections": {"overview": False}})
    findings = build_findings(data, plan)
    tmp = tmp_path_factory.mktemp("comparability")
    out = {"findings": findings, "data": data}
    for lang in ("zh", "en"):
        pdf = tmp / f"report-{lang}.pdf"
        render.write_report(findings, pdf, lang=lang,
                            sections=tuple(s for s in render.SECTIONS if s != "overview"))
        out[lang] = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout
    return out


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _nospace(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _n02_page(text: str, lang: str) -> str:
    caption = "Estimates for" if lang == "en" else "2026年估计值"
    m = re.search(re.escape(N02[lang]) + r"\n\s*" + caption, text)
    assert m, "N02 page not found"
    # the chapter runs over several pages: up to N03's heading
    end = re.search(r"\nN03 [^\n]*\n\s*" + caption, text[m.end():])
    return text[m.start():m.end() + end.start()]


def _summary(text: str, lang: str) -> str:
    start = text.index("Executive summary\n" if lang == "en" else "主要发现\n",
                       text.index("\f"))  # after the table of contents
    return text[start:text.index("\f", start)]


def test_the_analysis_agrees_that_n02_practice_is_not_comparable(report):
    """The report's premise, from the analysis package itself."""
    f = report["findings"]
    n02 = next(n for n in f.norms if n.code == "N02")
    assert set(n02.comparisons) == {"awareness"}
    assert set(n02.trends) == {"awareness"}
    assert n02.change_breaks["practice"] == (ItemChange("N02_P3", ((2024, 1), (2026, 2))),)
    assert n02.trend_breaks["practice"] == (
        ItemChange("N02_P3", ((2024, 1), (2025, 2), (2026, 2))),)
    assert n02.segments["practice"] == ((2024,), (2025, 2026))
    assert "awareness" not in n02.segments  # N02_A1 is the same question in every wave
    assert "practice" not in f.overall.comparisons and "gap" not in f.overall.comparisons
    assert f.overall.segments["practice"] == ((2024,), (2025, 2026))
    # comparable norms carry no break
    n04 = next(n for n in f.norms if n.code == "N04")
    assert not n04.change_breaks and not n04.trend_breaks and not n04.segments
    assert set(n04.comparisons) == {"awareness", "practice", "gap"}


def test_n02_page_says_why_and_reports_no_change_or_trend(report):
    en = _flat(_n02_page(report["en"], "en"))
    zh = _nospace(_n02_page(report["zh"], "zh"))
    # the practice and gap rows: current estimate, then dashes where the change would be
    assert re.search(r"Practice \d+\.\d \d+\.\d\d \S+ – – – – – not comparable", en), en
    assert re.search(r"Knowledge–action gap \d+\.\d \d+\.\d\d \S+ – – – – – not comparable", en)
    assert re.search(r"Awareness \d+\.\d \d+\.\d\d \S+ \d+\.\d [+−-]", en)  # compared
    assert ("Practice and the knowledge–action gap: not compared with 2024 because the wording "
            "of N02_P3 changed (version 1 in 2024, version 2 in 2026); scores built on "
            "different items or wording are not comparable, so no change is reported.") in en
    assert ("Practice: no linear trend is reported for 2024–2026 because the wording of N02_P3 "
            "changed (version 1 in 2024, version 2 in 2025 and 2026)") in en
    assert "Linear trend 2024–2026, practice" not in en
    assert "Linear trend 2024–2026, awareness" in en
    # the chart marks the change and says the points are not joined
    assert "Practice: wording changed (N02_P3)" in en
    assert "the scores are not joined and not comparable" in en

    assert _nospace("践行得分和知行差距未与2024年比较，因为N02_P3题目措辞有变更（2024年为第1版，"
                    "2026年为第2版）；题目或措辞不同的得分不可比，故不报告变化。") in zh
    assert _nospace("践行得分未报告2024–2026年线性趋势，因为N02_P3题目措辞有变更（2024年为第1版，"
                    "2025、2026年为第2版）") in zh
    assert "线性趋势：践行得分" not in zh
    assert "践行：题目措辞变更（N02_P3）" in zh
    # no English on the Chinese page beyond codes and names that have no translation
    words = set(re.findall(r"[A-Za-z]{3,}", _n02_page(report["zh"], "zh")))
    assert words <= {"Cronbach", "DATA", "Holm"}, words  # names of methods


def test_summary_does_not_call_it_a_change(report):
    en = _flat(_summary(report["en"], "en"))
    zh = _nospace(_summary(report["zh"], "zh"))
    assert not re.search(r"N02 Save energy and resources: practice (rose|fell)", en)
    stable = re.search(r"Stable since 2024 in practice \(no significant change\): ([^.]*)\.", en)
    assert stable and "N01" in stable.group(1) and "N02" not in stable.group(1)
    assert ("N02 Save energy and resources: practice is not compared with 2024 because the "
            "wording of N02_P3 changed (version 1 in 2024, version 2 in 2026); no change is "
            "reported.") in en
    assert ("N02 Save energy and resources: no linear trend in practice is reported for "
            "2024–2026 because the wording of N02_P3 changed") in en
    # the practice index includes N02: neither "stable" nor "up"/"down", and it says why
    index = re.search(r"The overall practice index stands at [^;]*; ([^.]*\.)", en)
    assert index and index.group(1).startswith("it is not compared with 2024: the index "
                                               "includes every norm, and the wording of N02_P3")
    assert not re.search(r"overall practice index[^.]*(stable|up \d|down \d)", en)
    assert "The overall awareness index stands at" in en  # comparable: a change or stable
    assert "Overall index: no linear trend in practice is reported for 2024–2026" in en

    assert not re.search("N02节约能源资源：践行得分较2024年(上升|下降)", zh)
    assert _nospace("N02 节约能源资源：践行得分未与2024年比较，因为N02_P3题目措辞有变更") in zh
    assert _nospace("未与2024年比较：总指数包含各条规范，而N02_P3题目措辞有变更") in zh
    stable_zh = re.search("践行得分与2024年相比无显著变化（稳定）：([^。]*)。", zh)
    assert stable_zh and "N02" not in stable_zh.group(1)


def test_table_and_annex_mark_the_wording_change_in_both_languages(report):
    raw = report["en"]
    start = raw.index("Table of all indicators\n", raw.index("\f"))
    table = _flat(raw[start:raw.index("Annex: methodology\n", start)])
    en, zh = _flat(raw[start:]), _nospace(report["zh"])
    # N02 practice in 2024 and the practice index in 2024 are marked, 2025/2026 are not
    assert re.search(r"Save energy and resources Awareness \S+ \(\S+\) \S+ \(\S+\) \S+ \(\S+\) "
                     r"Practice †\d", table), table[:600]
    assert "†: that wave's items or wording differ from 2026's" in table
    annex = en[en.index("Annex: methodology "):]
    assert ("N02 practice: not compared across 2024 and 2026 because the wording of N02_P3 "
            "changed (version 1 in 2024, version 2 in 2026).") in annex
    assert ("Overall practice index: not compared across 2024, 2025 and 2026 because the "
            "wording of N02_P3 changed (version 1 in 2024, version 2 in 2025 and 2026).") in annex
    assert _nospace("N02 践行得分：2024、2026年之间不作比较，因为N02_P3题目措辞有变更") in zh
    # none of the analysis package's English reasons reaches the Chinese report
    for english in ("not comparable", "different items", "wording", "version", "not asked"):
        assert english not in report["zh"], english


def test_every_reason_kind_has_a_chinese_and_an_english_wording():
    """Wording changed, item missing in a wave and the norms' own wording (2018 vs 2023 versions):
    filled with item codes and years, no English left in Chinese."""
    from dataclasses import replace

    from tests.report.fixture_model import make_findings

    f = make_findings()
    f.waves = [replace(w, norm_version="2018" if w.wave == 2023 else "2023") for w in f.waves]
    changes = (ItemChange("N02_P3", ((2023, 1), (2024, 2), (2025, 2))),
               ItemChange("N05_P4", ((2024, None), (2025, None)), missing=(2023,)))
    notes = [ComparabilityNote("not_comparable", item="N02.practice", changes=changes,
                               waves=(2023, 2024, 2025)),
             ComparabilityNote("not_comparable", item="index.gap", changes=changes[:1],
                               waves=(2023, 2025)),
             ComparabilityNote("wording_changed", norm="N01")]
    zh, en = translator("zh"), translator("en")
    assert render.reasons_text(changes, zh) == (
        "N02_P3题目措辞有变更（2023年为第1版，2024、2025年为第2版）；N05_P4在2023年未询问或无回答")
    assert render.reasons_text(changes, en) == (
        "the wording of N02_P3 changed (version 1 in 2023, version 2 in 2024 and 2025); "
        "N05_P4 was not asked or has no answers in 2023")
    texts = {lang: [render.comparability_text(n, f, translator(lang), lang) for n in notes]
             for lang in ("zh", "en")}
    assert texts["zh"][1].startswith("知行差距总指数：2023、2025年之间不作比较")
    assert texts["en"][1].startswith("Overall knowledge–action gap index: not compared across "
                                     "2023 and 2025 because the wording of N02_P3 changed")
    assert texts["zh"][2].startswith("N01 关爱生态环境：该规范条文在2018年版与2023年版之间有修改"
                                     "（2023年依据2018年版，2024、2025年依据2023年版")
    assert "(2023 followed the 2018 version, 2024 and 2025 followed the 2023 version" \
        in texts["en"][2]
    for text in texts["zh"]:
        assert not re.findall(r"[A-Za-z]{2,}", re.sub(r"N\d\d(_[AP]\d)?", "", text)), text


@pytest.mark.skipif(FONT is None, reason="no CJK font installed (fonts-noto-cjk)")
def test_trend_chart_does_not_join_points_across_the_change():
    """The chart draws one line per run of comparable waves: the 2024 practice point stands
    alone (hollow), 2025–2026 are joined; a dashed line with the item code marks the change."""
    import matplotlib.pyplot as plt

    from analysis.report import charts
    from analysis.report.model import Estimate
    from tests.report.fixture_model import make_findings

    f = make_findings()
    norm = f.norms[1]
    from dataclasses import replace

    norm = replace(norm, segments={"practice": ((2023,), (2024, 2025))},
                   trend_breaks={"practice": (
                       ItemChange("N02_P3", ((2023, 1), (2024, 2), (2025, 2))),)})
    lines = []
    real_plot = plt.Axes.plot

    def spy(self, xs, *args, **kwargs):
        lines.append((kwargs.get("label"), list(xs), kwargs.get("markerfacecolor")))
        return real_plot(self, xs, *args, **kwargs)

    configure_matplotlib(FONT, "text")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plt.Axes, "plot", spy)
        svg = charts.trend_chart(norm, f, translator("en"), "en")
    practice = [(xs, face) for _label, xs, face in lines
                if face is not None and _label in ("Practice", None)]
    assert ([2023], "white") in practice
    assert any(xs == [2024, 2025] and face != "white" for xs, face in practice)
    assert not any(2023 in xs and len(xs) > 1 for xs, _face in practice)
    assert "Practice: wording changed (N02_P3)" in svg
    assert isinstance(norm.estimates["practice"][2023], Estimate)


def test_common_items_changes_say_what_was_left_out():
    """With the plan's ``common_items``, a change is computed on the shared items: the page and
    the summary say which item was left out and why, in both languages."""
    from dataclasses import replace

    from tests.report.fixture_model import make_findings

    f = make_findings()
    change = (ItemChange("N02_P3", ((2024, 1), (2025, 2))),)
    f.norms[1] = replace(f.norms[1], change_breaks={"practice": change}, common_items=True)
    assert "practice" in f.norms[1].comparisons
    en = render.summary_sentences(f, "en")
    zh = render.summary_sentences(f, "zh")
    assert ("Changes and trends of N02 practice are computed on the items the waves share "
            "(without N02_P3, whose items or wording differ between waves).") in en
    assert ("以下指标的变化和趋势仅按各轮共有的题目计算（不含N02_P3，其题目或措辞在各轮之间不同）："
            "N02 践行得分。") in zh
    page = render.not_comparable_sentences(f.norms[1], f, translator("en"), "change")
    assert page == ["Practice: the change is computed on the items 2024 and 2025 share (without "
                    "N02_P3) because the wording of N02_P3 changed (version 1 in 2024, version 2 "
                    "in 2025)."]
