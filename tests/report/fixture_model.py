"""A small hand-built findings model for testing the renderer alone (not for reports)."""

from __future__ import annotations

from datetime import date

from analysis.report.model import (
    ComparabilityNote,
    Comparison,
    Estimate,
    Findings,
    MoeRow,
    NormFindings,
    PairwiseDifference,
    SubgroupEstimate,
    SubgroupTest,
    Trend,
    TrendPoint,
    WaveInfo,
    WeightingInfo,
    WeightTarget,
)

WAVES = (2023, 2024, 2025)
# ruff: noqa: E501
TITLES = [("关爱生态环境", "Care for the eco-environment"), ("节约能源资源", "Save energy and resources"),
          ("践行绿色消费", "Practise green consumption"), ("选择低碳出行", "Choose low-carbon travel"),
          ("分类投放垃圾", "Sort your rubbish"), ("减少污染产生", "Reduce pollution"),
          ("呵护自然生态", "Protect nature"), ("参加环保实践", "Take part in environmental action"),
          ("参与环境监督", "Take part in environmental oversight"),
          ("共建美丽中国", "Build a beautiful China together")]


def est(value, se, n=2000):
    return Estimate(value, se, value - 1.96 * se, value + 1.96 * se, n=n, deff=1.4)


def make_findings(min_n: int = 30) -> Findings:
    norms = []
    for i, (zh, en) in enumerate(TITLES):
        code = f"N{i + 1:02d}"
        estimates = {"awareness": {}, "practice": {}, "gap": {}}
        for j, w in enumerate(WAVES):
            a = 80.0 + i - j * 0.3
            p = 55.0 + 2 * i + j * (4.2 if code == "N04" else 0.2)
            estimates["awareness"][w] = est(a, 0.55)
            estimates["practice"][w] = est(p, 0.71)
            estimates["gap"][w] = est(a - p, 0.62)
        comparisons = {}
        for kind in ("awareness", "practice", "gap"):
            b, c = estimates[kind][2024].value, estimates[kind][2025].value
            diff = c - b
            sig = abs(diff) > 2
            comparisons[kind] = Comparison(2024, 2025, b, c, diff, 1.0, diff - 1.96, diff + 1.96,
                                           0.0001 if sig else 0.6, 0.003 if sig else 1.0, sig,
                                           family="norms", family_size=30)
        trends = {k: Trend(slope=(estimates[k][2025].value - estimates[k][2023].value) / 2,
                           slope_se=0.4, p_value=0.0002 if code == "N04" else 0.4,
                           series=tuple(TrendPoint(w, estimates[k][w]) for w in WAVES),
                           p_adjusted=0.004 if code == "N04" else 1.0, family="norm_trend",
                           family_size=20)
                  for k in ("awareness", "practice")}
        subgroups = {
            "sex": [SubgroupEstimate("sex", "male", est(60.1, 1.0, 980)),
                    SubgroupEstimate("sex", "female", est(62.3, 1.0, 1020))],
            "age_group": [SubgroupEstimate("age_group", "18-24", est(58.0, 9.0, 12), small=True),
                          SubgroupEstimate("age_group", "65+", est(63.0, 1.5, 300))],
        }
        norms.append(NormFindings(
            code=code, title={"zh": zh, "en": en}, estimates=estimates, comparisons=comparisons,
            trends=trends, subgroups=subgroups,
            subgroup_tests=[
                SubgroupTest("sex", f"{code}.practice", 4.2, 1, 250.0, 0.04, groups=("male", "female"),
                             pairs=(PairwiseDifference("male", "female", -2.2, 1.1, -4.4, -0.04,
                                                       0.04, 0.04),)),
                SubgroupTest("age_group", f"{code}.practice", 9.1, 1, 250.0, 1e-5,
                             groups=("25-34", "65+"), left_out=("18-24",),
                             pairs=(PairwiseDifference("25-34", "65+", 5.0, 1.2, 2.6, 7.4,
                                                       1e-5, 1e-5),))],
            alpha={"awareness": 0.81, "practice": 0.74}, n_items={"awareness": 1, "practice": 3},
            wording_changed=code in ("N01", "N09")))
    waves = [WaveInfo(w, 2100 + k, 2000 + k, date(w, 5, 1), date(w, 6, 30), "2023",
                      {"speeder": 60, "straightliner": 30, "attention": 20}, 1.42, 0.9)
             for k, w in enumerate(WAVES)]
    return Findings(
        survey_title={"zh": "公民生态环境行为调查", "en": "Citizen Ecological-Behaviour Survey"},
        waves=waves, current_wave=2025, base_wave=2024, norms=norms,
        overall=NormFindings(
            code="index", title={"zh": "总指数", "en": "Overall index"},
            estimates={"awareness": {w: est(84.0 + k, 0.3) for k, w in enumerate(WAVES)},
                       "practice": {w: est(60.0 + k, 0.4) for k, w in enumerate(WAVES)},
                       "gap": {w: est(24.0, 0.35) for w in WAVES}},
            comparisons={"practice": Comparison(2024, 2025, 61.0, 62.0, 1.0, 0.57, -0.1, 2.1,
                                                0.04, 0.08, False, "headline", 3),
                         "awareness": Comparison(2024, 2025, 85.0, 86.0, 1.0, 0.2, 0.6, 1.4,
                                                 1e-6, 1e-5, True, "headline", 3)}),
        weighting=WeightingInfo("margins.csv", (WeightTarget("sex", "male", 0.512, "census S7"),
                                                WeightTarget("sex", "female", 0.488, "census S7")),
                                iterations={2025: 6}, max_error={2025: 1e-9},
                                weight_ratio={2025: 7.5}),
        comparability=[ComparabilityNote("wording_changed", norm="N01")],
        moe_table=[MoeRow(n, 100 / n ** 0.5, n < min_n) for n in (20, 30, 100, 1000)],
        min_n=min_n, design={"weight": "weight", "strata": "stratum", "psu": "psu"},
        subgroup_variables=["sex", "age_group"], generated=date(2026, 11, 21),
        data_source="fixture.csv", software={"analysis": "0.1.0"},
    )
