"""The whole report from a synthetic three-wave data set, checked against the analysis CLI.

One module-scoped run writes the Chinese and the English PDF through `survey-analysis report`;
the tests read them back with poppler (`pdftotext`, `pdftoppm`) and compare the numbers with what
`survey-analysis compare` and the analysis functions give for the same data.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from analysis import cli
from analysis.report.fonts import NoCJKFontError, find_cjk_font
from analysis.report.render import fmt_p, fmt_score, fmt_se, fmt_signed
from analysis.synthetic import make_responses

WAVES = (2024, 2025, 2026)
ROWS = 3000
MIN_N = 100  # high enough that some small groups (65+, below primary) get suppressed

try:
    find_cjk_font()
    NO_FONT = None
except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
    NO_FONT = str(exc)

pytestmark = [
    pytest.mark.skipif(NO_FONT is not None, reason=f"no CJK font: {NO_FONT}"),
    pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")
                            and shutil.which("pdfinfo")),
                       reason="poppler-utils (pdftotext, pdftoppm, pdfinfo) not installed"),
]

MARGINS = """variable,category,target,source_note
sex,male,0.5117,census 2020 test share
sex,female,0.4883,census 2020 test share
urban_rural,urban,0.6389,census 2020 test share (Communique No.7)
urban_rural,rural,0.3611,census 2020 test share (Communique No.7)
region,east,0.3993,census 2020 test share
region,central,0.2583,census 2020 test share
region,west,0.2712,census 2020 test share
region,northeast,0.0698,census 2020 test share
"""


def _names():
    from analysis.report.findings import indicator_names
    from questionnaires import load_norms

    return indicator_names(load_norms().codes)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    data = tmp / "synthetic.csv"
    make_responses(ROWS, waves=WAVES, seed=1).to_csv(data, index=False)
    (tmp / "margins.csv").write_text(MARGINS, encoding="utf-8")
    plan = tmp / "plan.yaml"
    plan.write_text(
        "waves: [2024, 2025, 2026]\nbase_wave: 2025\nmargins: margins.csv\n"
        "design: {weight: base_weight, strata: stratum, psu: psu}\n"
        f"min_n: {MIN_N}\n", encoding="utf-8")
    out = {"tmp": tmp, "data": data, "plan": plan}
    for lang in ("zh", "en"):
        pdf = tmp / f"report-{lang}.pdf"
        assert cli.main(["report", str(data), "--plan", str(plan), "--out", str(pdf),
                         "--language", lang]) == 0
        out[lang] = pdf
        out[f"{lang}_text"] = subprocess.run(["pdftotext", "-layout", str(pdf), "-"],
                                             capture_output=True, text=True, check=True).stdout
    compared = tmp / "compare.csv"
    assert cli.main(["compare", str(data), "--items", ",".join(_names()), "--base", "2025",
                     "--current", "2026", "--weight", "base_weight", "--strata", "stratum",
                     "--psu", "psu", "--margins", str(tmp / "margins.csv"),
                     "--out", str(compared)]) == 0
    out["compare"] = pd.read_csv(compared, keep_default_na=False)
    trended = tmp / "trend.csv"
    trend_items = [n for n in _names() if not n.endswith(".gap")]
    assert cli.main(["trend", str(data), "--items", ",".join(trend_items), "--weight",
                     "base_weight", "--strata", "stratum", "--psu", "psu", "--margins",
                     str(tmp / "margins.csv"), "--out", str(trended)]) == 0
    out["trend"] = pd.read_csv(trended, keep_default_na=False)
    return out


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _nospace(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _norm_page(text: str, code: str, title: str) -> str:
    """Text of a norm's chapter (from its heading to the next chapter). The heading text
    also appears in the overview chart, so look for the heading followed by the table caption."""
    m = re.search(re.escape(f"{code} {title}") + r"\n\s*Estimates for", text)
    assert m, f"page of {code} not found"
    # a norm's chapter runs over several pages: up to the next chapter's heading
    end = re.compile(r"\nN\d\d [^\n]*\n\s*Estimates for|\nTable of all indicators\n")
    following = end.search(text, m.end())
    return text[m.start():following.start() if following else len(text)]


def _by_family(table: pd.DataFrame, column: str = "p_value") -> pd.DataFrame:
    """``table`` (whole-sample rows) with ``p_adjusted`` and ``significant`` recomputed within
    the report's families: the overall indices one, the norm scores another (Holm, 0.05)."""
    from statsmodels.stats.multitest import multipletests

    table = table[table["by"] == ""].copy() if "by" in table.columns else table.copy()
    headline = table["item"].str.startswith("index.")
    for rows in (headline, ~headline):
        ok = rows & pd.to_numeric(table[column], errors="coerce").notna()
        table.loc[ok, "p_adjusted"] = multipletests(table.loc[ok, column].astype(float),
                                                    method="holm")[1]
    table["significant"] = (table["p_adjusted"].astype(float) < 0.05).astype(str)
    return table


NORMS_FAMILY = "over the 30 norm scores (each norm's awareness, practice and gap)"
NORMS_FAMILY_ZH = "经Holm法对30项规范得分（各规范的认知、践行得分和知行差距）校正后"


def test_headline_changes_equal_compare_output(run):
    from questionnaires import load_norms

    catalogue = load_norms()
    table = _by_family(run["compare"])
    en, zh = _flat(run["en_text"]), _nospace(run["zh_text"])
    significant = table[(table["by"] == "") & (table["significant"].astype(str) == "True")]
    norm_rows = significant[significant["item"].str.match(r"N\d\d\.(awareness|practice)$")]
    assert len(norm_rows) >= 1, "the synthetic trends should give at least one real change"
    for r in norm_rows.itertuples():
        code, kind = r.item.split(".")
        title = catalogue.norm(code).title("2023")
        verb = "rose" if r.diff > 0 else "fell"
        sentence = (f"{code} {title['en']}: {kind} {verb} {fmt_score(abs(r.diff))} points since "
                    f"2025 (95% CI {fmt_signed(r.ci_low)} to {fmt_signed(r.ci_high)}; "
                    f"unadjusted {fmt_p(r.p_value)}; Holm-adjusted {fmt_p(r.p_adjusted)} "
                    f"{NORMS_FAMILY}).")
        assert sentence in en
        verb_zh = "上升" if r.diff > 0 else "下降"
        kind_zh = {"awareness": "认知得分", "practice": "践行得分"}[kind]
        assert _nospace(f"{code} {title['zh']}：{kind_zh}较2025年{verb_zh}"
                        f"{fmt_score(abs(r.diff))}分（95%置信区间{fmt_signed(r.ci_low)}至"
                        f"{fmt_signed(r.ci_high)}；未校正{fmt_p(r.p_value)}；{NORMS_FAMILY_ZH}"
                        f"{fmt_p(r.p_adjusted)}）。") in zh
    # a non-significant change is never called a change
    stable = table[(table["by"] == "") & (table["significant"].astype(str) == "False")
                   & table["item"].str.endswith(".practice") & (table["item"] != "index.practice")]
    for r in stable.itertuples():
        code = r.item.split(".")[0]
        assert f"{code} {catalogue.norm(code).title('2023')['en']}: practice rose" not in en
        assert f"{code} {catalogue.norm(code).title('2023')['en']}: practice fell" not in en
    stable_sentence = re.search(r"Stable since 2025 in practice \(no significant change\): "
                                r"([^.]*)\.", en)
    if len(stable):
        assert stable_sentence, "stable practice norms are listed"
        for r in stable.itertuples():
            assert r.item.split(".")[0] in stable_sentence.group(1)


def test_norm_tables_equal_compare_output(run):
    from questionnaires import load_norms

    catalogue = load_norms()
    table = _by_family(run["compare"]).set_index("item")
    text = run["en_text"]
    for code in catalogue.codes:
        page = _flat(_norm_page(text, code, catalogue.norm(code).title("2023")["en"]))
        for kind, label in (("awareness", "Awareness"), ("practice", "Practice"),
                            ("gap", "Knowledge–action gap")):
            r = table.loc[f"{code}.{kind}"]
            row = re.search(re.escape(label) + r" (\S+) (\S+) (\S+) (\S+) (\S+) (\S+ – \S+) "
                            r"(p [=<] \S+) p ([=<]) (\S+) (\w+)", page)
            assert row, f"{code} {kind} row not found"
            current, _se, _ci, base, diff, diff_ci, raw, op, p, verdict = row.groups()
            assert raw == fmt_p(r["p_value"])
            assert current == fmt_score(r["current"])
            assert base == fmt_score(r["base"])
            assert diff == fmt_signed(r["diff"])
            assert diff_ci == f"{fmt_signed(r['ci_low'])} – {fmt_signed(r['ci_high'])}"
            assert f"p {op} {p}" == fmt_p(r["p_adjusted"])
            significant = str(r["significant"]) == "True"
            assert verdict == ("stable" if not significant else
                               "rose" if r["diff"] > 0 else "fell")


def test_trend_lines_equal_trend_output(run):
    """Slopes, SEs and p-values on each norm page as `survey-analysis trend` gives them; the
    adjusted p-values are Holm over the norms' trends (the overall indices' trends are their
    own family; checked with statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    from questionnaires import load_norms

    catalogue = load_norms()
    table = run["trend"]
    norm_rows = table[~table["item"].str.startswith("index.")]
    holm = dict(zip(norm_rows["item"], multipletests(norm_rows["p_value"], method="holm")[1],
                    strict=True))
    notes = pd.read_csv(run["tmp"] / "trend.notes.csv")
    not_comparable = set(notes.loc[notes["kind"] == "not_comparable", "item"])
    # N02_P3 changed wording after 2024, so N02's practice score has no trend over 2024-2026
    assert "N02.practice" in not_comparable and "N02.practice" not in set(table["item"])
    text = run["en_text"]
    for code in catalogue.codes:
        page = _flat(_norm_page(text, code, catalogue.norm(code).title("2023")["en"]))
        for kind in ("awareness", "practice"):
            if f"{code}.{kind}" in not_comparable:
                assert f"Linear trend 2024–2026, {kind}:" not in page, (code, kind)
                continue
            r = table.set_index("item").loc[f"{code}.{kind}"]
            line = (f"Linear trend 2024–2026, {kind}: {fmt_signed(r['slope'])} points a year "
                    f"(SE {fmt_se(r['se'])}, unadjusted {fmt_p(r['p_value'])}; Holm-adjusted "
                    f"{fmt_p(holm[f'{code}.{kind}'])} over the {len(norm_rows)} norm score "
                    "trends).")
            assert line in page, (code, kind)


def test_subgroup_tables_equal_norm_scores_by_domain(run):
    from analysis.compare import DesignSpec, prepare_waves
    from analysis.indicators import norm_scores
    from analysis.io import read_margins, read_responses
    from analysis.report.i18n import category_label

    prepared = prepare_waves(read_responses(run["data"]), [2026])
    spec = DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                      margins=read_margins(run["tmp"] / "margins.csv"), rescale=True)
    design = spec.build(prepared.frames[2026], 2026)
    table = norm_scores(design, wave=prepared.definitions[2026],
                        by=["sex", "age_group", "region"]).table
    text = run["en_text"]
    pages = (("N04.practice", "N04 Choose low-carbon travel: subgroup differences"),
             ("index.practice", "Who lags in practice"))
    for indicator, heading in pages:
        start = text.index(heading)
        # the subgroup part may run on to the next page
        page = text[start:text.index("\f", text.index("\f", start) + 1)]
        rows = table[(table["indicator"] == indicator) & (table["by"] != "")]
        assert len(rows) >= 12
        for r in rows.itertuples():
            label = category_label(r.by, r.group, "en")
            if r.n < MIN_N:
                expected = rf"{re.escape(label)}\s+—\s+—\s+—\s+{r.n:,}"
            else:
                expected = (rf"{re.escape(label)}\s+{fmt_score(r.estimate)}\s+{fmt_se(r.se)}\s+"
                            rf"{fmt_score(r.ci_low)}–{fmt_score(r.ci_high)}\s+{r.n:,}")
            assert re.search(expected, page), (indicator, r.by, r.group)


def test_indicator_table_equals_the_analysis_functions(run):
    """The table of all indicators: estimate (SE) per wave as norm_scores gives on each wave's
    raked design (the same design `compare` builds)."""
    from analysis.compare import DesignSpec, prepare_waves
    from analysis.indicators import norm_scores
    from analysis.io import read_margins, read_responses

    data = read_responses(run["data"])
    prepared = prepare_waves(data, WAVES)
    spec = DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                      margins=read_margins(run["tmp"] / "margins.csv"))
    text = run["en_text"]
    table_text = _flat(text[text.index("Table of all indicators\n"):
                            text.index("Annex: methodology\n")])
    for y in WAVES:
        design = spec.build(prepared.frames[y], y)
        scores = norm_scores(design, wave=prepared.definitions[y]).table
        for r in scores.itertuples():
            assert f"{fmt_score(r.estimate)} ({fmt_se(r.se)})" in table_text, (y, r.indicator)
    # one row checked in place: the overall practice index, three waves in order
    idx = re.search(r"Practice (\S+ \(\S+\)) (\S+ \(\S+\)) (\S+ \(\S+\))", table_text)
    assert idx
    compare = run["compare"].set_index("item").loc["index.practice"]
    assert idx.group(2).split()[0] == fmt_score(compare["base"])
    assert idx.group(3).split()[0] == fmt_score(compare["current"])


def test_chinese_report_has_extractable_chinese_and_embedded_font(run):
    from questionnaires import load_norms

    zh = run["zh_text"]
    headings = ("主要发现", "十条规范总览", "指标汇总表", "附录：方法说明",
                "不同群体规模的误差范围")
    for heading in headings:
        assert heading in zh
    for code in load_norms().codes:
        assert load_norms().norm(code).title("2023")["zh"] in zh
    fonts = subprocess.run(["pdffonts", str(run["zh"])], capture_output=True, text=True).stdout
    assert any("CJK" in line and " yes " in line for line in fonts.splitlines()), fonts
    assert not re.search(r"[\u4e00-\u9fff]", run["en_text"]), "Chinese text in the English report"


def test_small_subgroups_are_suppressed_and_flagged(run):
    text = run["en_text"]
    assert f"“—”: fewer than {MIN_N} responses in the group; estimate suppressed." in _flat(text)
    # every suppressed row shows its n and no estimate
    ns = re.findall(r"—\s+—\s+—\s+(\d[\d,]*)", text)
    assert ns
    assert all(int(n.replace(",", "")) < MIN_N for n in ns)
    # the margin-of-error table marks sizes below min_n
    assert "below the minimum n: not reported" in text


def test_methodology_annex_from_the_data(run):
    from analysis.compare import prepare_waves
    from analysis.io import read_responses

    en = _flat(run["en_text"])
    data = read_responses(run["data"])
    prepared = prepare_waves(data, WAVES)
    for y in WAVES:
        total = int((data["wave"] == y).sum())
        excluded = prepared.exclusions[y].total
        assert f"{y} {total:,} {excluded:,} {total - excluded:,}" in en, y
        by_reason = prepared.exclusions[y].by_reason
        assert (f"{y} {by_reason['speeder']:,} {by_reason['straightliner']:,} "
                f"{by_reason['attention']:,} {excluded:,}") in en, y
    # mean design effect of the item means, as SurveyDesign.mean reports it (SRS with replacement)
    from analysis.compare import DesignSpec
    from analysis.indicators import norm_scores
    from analysis.io import read_margins

    spec = DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                      margins=read_margins(run["tmp"] / "margins.csv"), rescale=True)
    for y in WAVES:
        design = spec.build(prepared.frames[y], y)
        scales = norm_scores(design, wave=prepared.definitions[y]).scales
        deff = design.mean([c for sc in scales for c in sc.items], deff="replace").table["deff"]
        total = int((data["wave"] == y).sum())
        excluded = prepared.exclusions[y].total
        row = re.search(rf"{y} {total:,} {excluded:,} {total - excluded:,} .*? 2023 (\S+) (\S+)",
                        en)
        assert row and row.group(1) == fmt_se(deff.mean()), y
    # the targets' sources are quoted, the margins file is not named (nothing internal)
    assert "margins.csv" not in en and "census 2020 test share (Communique No.7)" in en
    assert "63.9%" in en  # urban target share from the margins file
    assert "Noto Sans CJK" in en or "Source Han" in en or "WenQuanYi" in en


def test_every_page_renders(run):
    for lang in ("zh", "en"):
        pdf = run[lang]
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert pages >= 10
        prefix = run["tmp"] / f"page-{lang}"
        subprocess.run(["pdftoppm", "-png", "-r", "20", str(pdf), str(prefix)], check=True)
        pngs = sorted(run["tmp"].glob(f"page-{lang}-*.png"))
        assert len(pngs) == pages
        assert all(p.stat().st_size > 500 for p in pngs)


def test_html_report_from_the_same_plan(run, tmp_path):
    out = tmp_path / "report.html"
    assert cli.main(["report", str(run["data"]), "--plan", str(run["plan"]), "--out", str(out),
                     "--format", "html", "--language", "en"]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Executive summary" in html
    # index trend, overview, who lags, two per norm
    assert html.count("data:image/svg+xml;base64,") == 23


def test_bad_plan_is_one_line_and_exit_2(run, tmp_path, capsys):
    plan = tmp_path / "bad.yaml"
    plan.write_text("waves: [2024, 2025, 2031]\n", encoding="utf-8")
    code = cli.main(["report", str(run["data"]), "--plan", str(plan),
                     "--out", str(tmp_path / "x.pdf")])
    err = capsys.readouterr().err
    assert code == 2
    assert "wave 2031" in err and err.strip().count("\n") == 0
    assert not (tmp_path / "x.pdf").exists()
