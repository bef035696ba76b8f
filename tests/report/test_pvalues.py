"""Every p-value in a report says what it is: raw, or adjusted over a named family.

The overall indices (index.awareness, index.practice, index.gap) are one multiple-testing family,
the norms' scores another, and the trends of each kind two more; the summary shows each headline
change with its 95% CI, the raw p and the adjusted p naming the family, in both languages.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.report import render
from analysis.report.findings import build_findings
from analysis.report.plan import plan_from_dict
from analysis.synthetic import make_responses
from tests.report.fixture_model import make_findings


def test_headline_summary_shows_ci_raw_and_adjusted_p_with_the_family():
    f = make_findings()
    en = render.summary_sentences(f, "en")
    zh = render.summary_sentences(f, "zh")
    practice = next(s for s in en if "overall practice index" in s)
    assert ("stable since 2024 (change +1.0 points, 95% CI -0.1 to +2.1; unadjusted p = 0.040; "
            "Holm-adjusted p = 0.080 over the 3 headline indices; not significant)") in practice
    practice_zh = next(s for s in zh if s.startswith("2025年践行总指数"))
    assert ("（变化+1.0分，95%置信区间-0.1至+2.1；未校正p = 0.040；经Holm法对3项总指数校正后"
            "p = 0.080；不显著）") in practice_zh


@pytest.mark.parametrize("lang, raw, adjusted", [
    ("en", "unadjusted ", "-adjusted "), ("zh", "未校正", "校正后")])
def test_every_p_in_the_summary_is_labelled(lang, raw, adjusted):
    for sentence in render.summary_sentences(make_findings(), lang):
        for m in re.finditer(r"p [=<] ", sentence):
            before = sentence[:m.start()]
            assert before.endswith(raw) or before.endswith(adjusted), sentence


def test_norm_page_and_trend_lines_label_their_p_values():
    html = render.render_html(make_findings(), "en", sections=("norms",))
    assert "p (unadjusted)" in html and "p (Holm-adjusted)" in html
    assert ("Adjusted p: Holm correction over the 30 norm scores (each norm&#39;s awareness, "
            "practice and gap)") in html
    assert ("(SE 0.40, unadjusted p &lt; 0.001; Holm-adjusted p &lt; 0.01 over the 20 norm "
            "score trends)") in html
    zh = render.render_html(make_findings(), "zh", sections=("norms",))
    assert "p值（未校正）" in zh and "p值（Holm法校正后）" in zh


@pytest.fixture(scope="module")
def two_waves():
    data = make_responses(1200, waves=(2025, 2026), seed=3)
    plan = plan_from_dict({"design": {"weight": "base_weight", "strata": "stratum",
                                      "psu": "psu"}, "subgroup_tests": "none"})
    return build_findings(data, plan)


def test_headline_indices_and_norm_scores_are_separate_families(two_waves):
    f = two_waves
    headline = [f.overall.comparisons[k] for k in ("awareness", "practice", "gap")]
    assert {c.family for c in headline} == {"headline"}
    assert {c.family_size for c in headline} == {3}
    expected = multipletests([c.p_value for c in headline], method="holm")[1]
    assert np.allclose([c.p_adjusted for c in headline], expected, rtol=0, atol=1e-12)
    norm = [n.comparisons[k] for n in f.norms for k in ("awareness", "practice", "gap")
            if k in n.comparisons]
    assert {c.family for c in norm} == {"norms"} and norm[0].family_size == len(norm) == 30
    expected = multipletests([c.p_value for c in norm], method="holm")[1]
    assert np.allclose([c.p_adjusted for c in norm], expected, rtol=0, atol=1e-12)
    for c in headline + norm:
        assert c.significant == (c.p_adjusted < f.alpha)
