"""The methods section: publisher, contact and citation from the plan; mode and sample source;
fieldwork counts from the export's summary (or "not available"); weighting diagnostics per
wave; each target's source and caveat in the report's language; the non-probability statement."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import render
from analysis.report.fieldwork import FIELDWORK_COLUMNS
from analysis.report.findings import build_findings
from analysis.report.plan import plan_from_dict
from analysis.synthetic import make_responses

ROOT = Path(__file__).resolve().parents[2]
MARGINS = ROOT / "analysis" / "data" / "census2020_adult_margins.csv"
PUBLICATION = {
    "publisher": {"zh": "生态环境部宣传教育中心", "en": "Centre for Environmental Education"},
    "contact": "survey@example.org",
    "citation": {"zh": "宣教中心（2026）：公民生态环境行为调查报告。",
                 "en": "Centre for Environmental Education (2026). Citizen survey report."}}


def _text(html: str) -> str:
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("methods")
    data = tmp / "responses.csv"
    make_responses(1200, waves=(2025, 2026), seed=4).to_csv(data, index=False)
    pd.DataFrame([
        [2025, "2025-01-01", "2025-12-31", "2025-01-02", "2025-12-20", 1400, 1200, 200,
         1200 / 1400],
        [2026, "2026-01-01", "2026-12-31", "2026-01-05", "2026-11-30", 1500, 1200, 300, 0.8]],
        columns=list(FIELDWORK_COLUMNS)).to_csv(tmp / "responses.fieldwork.csv", index=False)
    plan = plan_from_dict({"margins": str(MARGINS), "subgroup_tests": "none",
                           "subgroups": ["sex"],
                           "design": {"weight": "base_weight", "strata": "stratum", "psu": "psu"},
                           **PUBLICATION})
    return data, build_findings(data, plan)


def test_fieldwork_counts_come_from_the_summary(built):
    _data, f = built
    w = f.wave(2026)
    assert (w.fieldwork.started, w.fieldwork.completed, w.fieldwork.broken_off) == (1500, 1200, 300)
    text = _text(render.render_html(f, "en", sections=("methodology",)))
    assert "2026 2026-01-01 to 2026-12-31 2026-01-05 to 2026-11-30 1,500 1,200 300 80.0%" in text
    assert "2025 2025-01-01 to 2025-12-31 2025-01-02 to 2025-12-20 1,400 1,200 200 85.7%" in text
    zh = _text(render.render_html(f, "zh", sections=("methodology",)))
    assert "完成率" in zh and "80.0%" in zh


def test_weight_diagnostics_per_wave(built):
    from analysis.compare import DesignSpec, prepare_waves
    from analysis.io import read_margins

    data, f = built
    prepared = prepare_waves(pd.read_csv(data), [2025, 2026])
    spec = DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                      margins=read_margins(MARGINS), rescale=True)
    text = _text(render.render_html(f, "en", sections=("methodology",)))
    for y in (2025, 2026):
        d = spec.build(prepared.frames[y], y).weight_diagnostics
        got = f.wave(y).weights
        assert got.kish_deff == pytest.approx(d.kish_deff, rel=1e-9)
        assert got.n_effective == pytest.approx(d.n_effective, rel=1e-9)
        assert (f"{y} {d.n:,} {d.n_effective:,.0f} {render.fmt_se(d.kish_deff)} "
                f"{d.weight_min:.3g} {d.weight_max:.3g} {render.fmt_score(d.ratio)} 0") in text
    assert "No weights were trimmed." in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_publication_sources_caveats_and_sample_statement(built, lang):
    _data, f = built
    text = _text(render.render_html(f, lang, sections=("methodology",)))
    for key in ("publisher", "citation"):
        assert PUBLICATION[key][lang] in text
    assert PUBLICATION["contact"] in text
    margins = pd.read_csv(MARGINS)
    assert margins[f"source_{lang}"].iloc[0] in text
    caveat = margins[f"caveat_{lang}"].dropna().iloc[0]
    assert text.count(caveat) == 1  # once, naming every variable it applies to
    other = "en" if lang == "zh" else "zh"
    assert margins[f"source_{other}"].iloc[0] not in text
    if lang == "en":
        assert "Survey mode: online self-completion questionnaire." in text
        assert "not a probability sample" in text
        assert ("they do not cover coverage or self-selection bias") in text
        assert "weighting cannot remove this self-selection bias" in text
    else:
        assert "调查方式：网络自填问卷" in text and "非概率样本" in text
        assert "不包括覆盖不全或自选择带来的偏差" in text


def test_without_a_fieldwork_summary_the_report_says_so():
    data = make_responses(600, waves=(2026,), seed=6)
    f = build_findings(data, plan_from_dict({"subgroup_tests": "none", "subgroups": ["sex"]}))
    assert f.wave(2026).fieldwork is None
    text = _text(render.render_html(f, "en", sections=("methodology",)))
    assert "the completion rate is not available" in text
    assert "Completion rate" not in text
    assert "does not give all of the publisher, a contact and a citation" in text
