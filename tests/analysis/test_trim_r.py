"""Trimming plain weights is R's trimWeights (survey 4.1-1): tests/fixtures/r_trim.

The fixture trims a stratified cluster design's weights to an upper bound, a lower bound and
both, with ``strict=FALSE`` (one round: a weight pushed over a bound by its share of the
trimmed weight stays there) and ``strict=TRUE`` (repeated until every weight is inside), and
gives the weights and ``svymean(~y)`` after each.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import ConvergenceError, SurveyDesign
from analysis.weighting import trim_weights

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "r_trim"
DATA = pd.read_csv(FIXTURE / "data.csv")
WEIGHTS = pd.read_csv(FIXTURE / "weights.csv")
ESTIMATES = pd.read_csv(FIXTURE / "estimates.csv").set_index("case")
CASES = pd.read_csv(FIXTURE / "cases.csv").set_index("case")


def _design():
    return SurveyDesign(DATA, weights="w", strata="stratum", psu="psu")


@pytest.mark.parametrize("case", list(CASES.index))
def test_trim_is_r_trimweights(case):
    row = CASES.loc[case]
    lower = None if np.isinf(row["lower"]) else float(row["lower"])
    upper = None if np.isinf(row["upper"]) else float(row["upper"])
    design = _design()
    trimmed = design.trim(lower=lower, upper=upper, strict=bool(row["strict"]))
    np.testing.assert_allclose(trimmed.weights, WEIGHTS[case].to_numpy(), rtol=1e-13)
    assert trimmed.weights.sum() == pytest.approx(design.weights.sum(), rel=1e-13)
    est = trimmed.mean("y").table.iloc[0]
    assert est["estimate"] == pytest.approx(ESTIMATES.loc[case, "mean"], rel=1e-10)
    assert est["se"] == pytest.approx(ESTIMATES.loc[case, "se"], rel=1e-10)
    assert trimmed.weighting.method == "trim" and trimmed.weighting.n_trimmed > 0


def test_one_round_can_leave_a_weight_outside_and_strict_does_not():
    row = CASES.loc["upper"]
    once = WEIGHTS["upper"].to_numpy()
    assert once.max() > row["upper"]  # the fixture shows the difference R makes
    strict = _design().trim(upper=float(row["upper"]), strict=True)
    assert strict.weights.max() <= row["upper"]


def test_nothing_outside_leaves_the_design_as_it_is():
    design = _design()
    assert design.trim(upper=float(DATA["w"].max())) is design


def test_trim_weights_refuses_what_cannot_keep_the_total():
    with pytest.raises(ConvergenceError, match="every weight is outside the bounds"):
        trim_weights(np.array([2.0, 3.0]), 0.0, 1.0)
    w = np.array([1.0, 1.0, 1.0, 10.0])
    with pytest.raises(ConvergenceError, match="did not settle in 1 rounds"):
        trim_weights(w, -np.inf, 2.5, strict=True, max_iter=1)
