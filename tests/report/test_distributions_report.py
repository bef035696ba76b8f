"""Norm pages show each item's answer distribution next to its wording, design-based, with
"not applicable" (code 9) as its own share; data without any 9 say that share is unknown."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.report import render
from analysis.report.findings import build_findings
from analysis.report.plan import plan_from_dict
from analysis.synthetic import make_responses

PLAN = {"design": {"weight": "base_weight", "strata": "stratum", "psu": "psu"},
        "subgroup_tests": "none", "subgroups": ["sex"]}


@pytest.fixture(scope="module")
def with_na():
    data = make_responses(1500, waves=(2026,), seed=8)
    rng = np.random.default_rng(2)
    answered = data["N05_P1"].notna().to_numpy()
    data.loc[answered & (rng.random(len(data)) < 0.1), "N05_P1"] = 9
    return data, build_findings(data, plan_from_dict(PLAN))


def test_distributions_are_the_design_based_shares_of_the_current_wave(with_na):
    from analysis.compare import DesignSpec
    from analysis.distributions import answer_distributions
    from analysis.pipeline import load_survey

    data, f = with_na
    # the expected shares from the data with their 9s left in place (the report gets them from
    # the pipeline's record of where the 9s were, since every estimate needs them missing)
    raw = load_survey(data, waves=[2026], recode_not_applicable=False)
    design = DesignSpec(weight="base_weight", strata="stratum", psu="psu").build(
        raw.frames[2026], 2026)
    n05 = next(n for n in f.norms if n.code == "N05")
    by_item = {d.item: d for d in n05.distributions}
    assert {"N05_A1", "N05_P1"} <= set(by_item)
    expected = answer_distributions(design, ["N05_P1"]).set_index("code")
    d = by_item["N05_P1"]
    assert d.kind == "practice" and "垃圾" in d.text["zh"] and "waste" in d.text["en"]
    assert [a.code for a in d.answers] == [1, 2, 3, 4, 5]
    assert [a.label["en"] for a in d.answers][-1] == "always"
    for a in d.answers:
        assert a.share == pytest.approx(expected.loc[a.code, "share"], abs=1e-12)
        assert a.se == pytest.approx(expected.loc[a.code, "se"], rel=1e-9)
    assert sum(a.share for a in d.answers) == pytest.approx(1.0)
    assert d.not_applicable is not None and d.not_applicable.code == 9
    assert d.not_applicable.share == pytest.approx(expected.loc[9, "share"], abs=1e-12)
    assert 0.05 < d.not_applicable.share < 0.15
    assert f.not_applicable_recorded


def test_norm_page_shows_wording_shares_and_not_applicable(with_na):
    _data, f = with_na
    n05 = next(n for n in f.norms if n.code == "N05")
    d = next(x for x in n05.distributions if x.item == "N05_P1")
    for lang, na in (("en", "Not applicable"), ("zh", "不适用")):
        html = render.render_html(f, lang, sections=("norms",))
        page = html[html.index('id="N05"'):html.index('id="N06"')]
        assert d.text[lang].replace('"', "&#34;") in page
        assert na in page
        always = d.answers[-1]
        assert (f"{render.fmt_share(always.share)}<br><span class=\"ci\">"
                f"{render.fmt_share(always.ci_low)}–{render.fmt_share(always.ci_high)}") in page
        assert render.fmt_share(d.not_applicable.share) in page


def test_data_without_any_9_do_not_claim_zero_not_applicable():
    data = make_responses(800, waves=(2026,), seed=9)
    f = build_findings(data, plan_from_dict(PLAN))
    assert not f.not_applicable_recorded
    assert all(d.not_applicable is None for n in f.norms for d in n.distributions)
    html = render.render_html(f, "en", sections=("norms",))
    assert "do not record “not applicable” separately" in html
