"""Answer distributions: shares of answers 1-5 among those who answered 1-5, "not applicable"
(code 9) as its own share among those shown the item, design-based SEs equal to
SurveyDesign.proportion, logit intervals inside 0..1."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.design import SurveyDesign
from analysis.distributions import DISTRIBUTION_COLUMNS, answer_distributions
from analysis.errors import AnalysisInputError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_domain_wald"
MARGINS = Margins.from_dict({
    "sex": {"female": 490_000, "male": 510_000},
    "region": {"central": 260_000, "east": 400_000, "northeast": 70_000, "west": 270_000}})


@pytest.fixture(scope="module")
def frame():
    """The fixture wave with some answers to N05_P1 turned into 9 (not applicable)."""
    df = pd.read_csv(FIX / "data.csv")
    rng = np.random.default_rng(4)
    answered = df["N05_P1"].notna().to_numpy()
    na = answered & (rng.random(len(df)) < 0.15)
    df["N05_P1"] = df["N05_P1"].mask(na, 9)
    return df


def _design(df, raked):
    d = SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
    return d.rake(MARGINS, epsilon=1e-13) if raked else d


@pytest.mark.parametrize("raked", [False, True])
def test_shares_equal_design_proportion_with_9_outside_the_domain(frame, raked):
    table = answer_distributions(_design(frame, raked), ["N05_P1", "N04_P1"],
                                 {"N05_P1": {1: "never", 5: "always", 9: "not applicable"}})
    assert list(table.columns) == list(DISTRIBUTION_COLUMNS)
    n05 = table[table["item"] == "N05_P1"]
    assert list(n05["code"]) == [1, 2, 3, 4, 5, 9]
    assert list(n05["label"]) == ["never", "", "", "", "always", "not applicable"]
    # answers 1-5: the proportion on the same design with the 9s missing
    recoded = frame.assign(N05_P1=frame["N05_P1"].mask(frame["N05_P1"] == 9))
    reference = _design(recoded, raked)
    for r in n05[n05["code"] <= 5].itertuples():
        p = reference.proportion(["N05_P1"], [r.code]).table.iloc[0]
        assert r.share == pytest.approx(p["estimate"], abs=1e-12)
        assert r.se == pytest.approx(p["se"], rel=1e-9)
        assert r.n == int((frame["N05_P1"].between(1, 5)).sum())
    assert n05[n05["code"] <= 5]["share"].sum() == pytest.approx(1.0)
    # not applicable: share of 9 among those who answered (1-5 or 9)
    na = n05[n05["code"] == 9].iloc[0]
    shown = frame.assign(na=(frame["N05_P1"] == 9).astype(float).where(frame["N05_P1"].notna()))
    p = _design(shown, raked).proportion(["na"], [1]).table.iloc[0]
    assert na.share == pytest.approx(p["estimate"], abs=1e-12)
    assert na.se == pytest.approx(p["se"], rel=1e-9)
    assert na.n == int(frame["N05_P1"].notna().sum())
    assert 0.08 < na.share < 0.25
    # an item without 9s and without a "not applicable" label has no such row
    assert list(table[table["item"] == "N04_P1"]["code"]) == [1, 2, 3, 4, 5]


def test_logit_intervals_stay_inside_0_and_1(frame):
    table = answer_distributions(_design(frame, False), ["N05_P1", "N01_P1"])
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()
    assert (table["ci_low"] <= table["share"]).all() and (table["share"] <= table["ci_high"]).all()
    rare = table.loc[table["share"].idxmin()]
    assert rare.ci_low > 0 or rare.share == 0


def test_an_invalid_code_names_column_value_and_row(frame):
    bad = frame.copy()
    bad.loc[7, "N04_P1"] = 7
    with pytest.raises(AnalysisInputError, match=r"column 'N04_P1': value 7 in row 8 is not an "
                                                 r"answer code"):
        answer_distributions(_design(bad, False), ["N04_P1"])


R_FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_distributions"


@pytest.mark.parametrize("kind", ["stratclus", "calibrated"])
def test_shares_ses_and_logit_intervals_equal_r(kind):
    """R 4.2 / survey 4.1-1: svymean on the answer's indicator in subset(design, y in 1:5) (or
    answered at all, for 9) and svyciprop(method = "logit", df = Inf); make_fixtures.R."""
    expected = pd.read_csv(R_FIX / "shares.csv")
    expected = expected[expected["design"] == kind]
    table = answer_distributions(_design(pd.read_csv(R_FIX / "data.csv"), kind == "calibrated"),
                                 ["N05_P1", "N01_P1"])
    merged = table.merge(expected, on=["item", "code"], suffixes=("", "_r"))
    assert len(merged) == len(expected) == len(table) == 11
    for column in ("share", "se", "ci_low", "ci_high"):
        assert np.allclose(merged[column], merged[f"{column}_r"], rtol=1e-6, atol=1e-9), column
