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
