"""Subgroup differences are tested on the score the chart shows (the practice score), with a
design-based Wald test of equal domain means and Holm-adjusted pairwise differences."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.report import render
from analysis.report.findings import build_findings
from analysis.report.plan import plan_from_dict
from analysis.synthetic import make_responses
from tests.report.fixture_model import make_findings

MIN_N = 60


@pytest.fixture(scope="module")
def built():
    data = make_responses(2000, waves=(2026,), seed=11)
    plan = plan_from_dict({"design": {"weight": "base_weight", "strata": "stratum",
                                      "psu": "psu"}, "min_n": MIN_N,
                           "subgroups": ["sex", "age_group", "region"]})
    return data, build_findings(data, plan)


def test_each_norm_is_tested_on_its_practice_score_per_variable(built):
    from analysis.compare import DesignSpec, prepare_waves
    from analysis.domain_tests import equal_means_test, pairwise_differences, score_by_domain
    from analysis.indicators import norm_scores

    data, f = built
    prepared = prepare_waves(data, [2026])
    design = DesignSpec(weight="base_weight", strata="stratum", psu="psu").build(
        prepared.frames[2026], 2026)
    scales = {s.name: s for s in norm_scores(design, wave=prepared.definitions[2026]).scales}
    for norm in f.norms:
        assert [t.variable for t in norm.subgroup_tests] == ["sex", "age_group", "region"]
        for t in norm.subgroup_tests:
            assert t.target == f"{norm.code}.practice" and t.method == "wald"
            shown = {g.group: g for g in norm.subgroups[t.variable]}
            # the groups the chart shows with a value are the groups tested
            assert set(t.groups) == {g for g, e in shown.items() if not e.small}
            assert set(t.left_out) == {g for g, e in shown.items() if e.small}
            scale = scales[f"{norm.code}.practice"]
            k = len(scale.items)
            scores = score_by_domain(design, scale.items, [25 / k] * k, t.variable,
                                     offset=-25.0, groups=list(t.groups))
            # the domain estimates are the ones in the subgroup table
            assert np.allclose(scores.estimates, [shown[g].estimate.value for g in t.groups])
            expected = equal_means_test(scores)
            assert t.statistic == pytest.approx(expected.f, rel=1e-9)
            assert t.p_value == pytest.approx(expected.p_value, rel=1e-9, abs=1e-15)
            assert (t.ndf, t.ddf) == (expected.ndf, expected.ddf)
            pairs = pairwise_differences(scores)
            assert np.allclose([p.diff for p in t.pairs], pairs["diff"])
            holm = multipletests([p.p_value for p in t.pairs], method="holm")[1]
            assert np.allclose([p.p_adjusted for p in t.pairs], holm)


def test_overall_practice_index_is_tested_too(built):
    _data, f = built
    assert [t.target for t in f.overall.subgroup_tests] == ["index.practice"] * 3
    # shown under the "who lags" chart of the overview, with its F and unadjusted p
    html = render.render_html(f, "en", sections=("overview",))
    assert "Design-based Wald test that every group&#39;s practice score is equal" in html
    assert render.fmt_p(f.overall.subgroup_tests[0].p_value).replace("<", "&lt;") in html


def test_norm_page_shows_the_wald_test_and_significant_pairs():
    en = render.render_html(make_findings(), "en", sections=("norms",))
    assert "Design-based Wald test that every group&#39;s practice score is equal" in en
    assert "Rao–Scott" not in en
    assert "4.20 (1, 250)" in en  # F (ndf, ddf)
    assert "(without 18–24: too few responses)" in en
    assert "25–34 − 65 and over" in en and "+5.0" in en
    zh = render.render_html(make_findings(), "zh", sections=("norms",))
    assert "各群体践行得分相等的设计基础Wald检验" in zh and "（未含样本量不足的18–24岁）" in zh
