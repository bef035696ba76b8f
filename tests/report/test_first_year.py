"""The survey's first year: a one-wave report of levels, distributions, subgroups and methods,
with no change or trend sections, no empty headings and no "stable" wording."""

from __future__ import annotations

import re

import pytest

from analysis.report import render
from analysis.report.findings import build_findings
from analysis.report.plan import plan_from_dict
from analysis.synthetic import make_responses


@pytest.fixture(scope="module")
def first_year():
    data = make_responses(1500, waves=(2026,), seed=5)
    plan = plan_from_dict({"design": {"weight": "base_weight", "strata": "stratum",
                                      "psu": "psu"}, "waves": [2026]})
    return build_findings(data, plan)


def test_one_wave_gives_levels_without_changes_or_trends(first_year):
    f = first_year
    assert f.base_wave is None and f.wave_years == [2026]
    assert all(not n.comparisons and not n.trends for n in [f.overall, *f.norms])
    assert f.overall.estimates["practice"][2026].n > 1000
    assert any(n.subgroups for n in f.norms)


@pytest.mark.parametrize("lang, stable_words", [
    ("en", ("stable", "Stable", "not comparable", "Change", "trend", "None")),
    ("zh", ("稳定", "不可比", "变化", "趋势", "None"))])
def test_one_wave_text_has_no_change_or_trend_wording(first_year, lang, stable_words):
    sentences = render.summary_sentences(first_year, lang)
    assert sentences and all("2026" in s for s in sentences[:2])
    html = render.render_html(first_year, lang)
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html,
                                          flags=re.S))
    text = re.sub(r"data:image[^\"' ]+", "", text)
    for word in stable_words:
        assert word not in text, word
    # no empty heading: after every h2-h4 there is some content (text or a figure) before the
    # next heading of its level or above, or the end of its section
    for m in re.finditer(r"<h([234])[^>]*>.*?</h\1>", html, flags=re.S):
        rest = html[m.end():]
        stop = re.search(rf"<h[2-{m.group(1)}][ >]|</section>", rest)
        body = rest[:stop.start() if stop else len(rest)]
        content = re.sub(r"<[^>]+>", "", body).strip() or ("<img" in body)
        assert content, f"empty section under {m.group(0)[:80]}"


def test_one_wave_pdf_through_the_command(tmp_path):
    import shutil
    import subprocess

    from analysis import cli
    from analysis.report.fonts import NoCJKFontError, find_cjk_font

    try:
        find_cjk_font()
    except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no CJK font: {exc}")
    if not shutil.which("pdftotext"):  # pragma: no cover
        pytest.skip("poppler-utils not installed")
    data = tmp_path / "first.csv"
    make_responses(800, waves=(2026,), seed=7).to_csv(data, index=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text("subgroups: [sex, region]\n", encoding="utf-8")
    pdf = tmp_path / "first.pdf"
    assert cli.main(["report", str(data), "--plan", str(plan), "--out", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "年度报告" in text and "趋势报告" not in text and "稳定" not in text
    assert "2026年践行总指数为" in text


def test_a_malformed_fieldwork_summary_is_one_line_and_exit_2(tmp_path, capsys):
    from analysis import cli

    data = tmp_path / "first.csv"
    make_responses(300, waves=(2026,), seed=7).to_csv(data, index=False)
    (tmp_path / "first.fieldwork.csv").write_text(
        "wave,opens,closes,first_response_date,last_response_date,started,completed,broken_off,"
        "completion_rate\n2026,2026-01-01,2026-12-31,,,300,320,-20,\n", encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text("subgroups: [sex]\n", encoding="utf-8")
    assert cli.main(["report", str(data), "--plan", str(plan), "--out",
                     str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "first.fieldwork.csv: column 'broken_off'" in err[0]
    assert not (tmp_path / "x.pdf").exists()
