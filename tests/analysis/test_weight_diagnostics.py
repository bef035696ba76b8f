"""Kish's design effect of weighting and the effective sample size."""

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from analysis.diagnostics import weight_diagnostics


def test_kish_figures_by_hand():
    d = weight_diagnostics([1.0, 1.0, 2.0, 4.0])
    # sum 8, sum of squares 22: n_eff = 64 / 22, deff = 4 * 22 / 64
    assert d.n == 4 and d.weight_sum == 8.0
    assert d.n_effective == pytest.approx(64 / 22, rel=1e-15)
    assert d.kish_deff == pytest.approx(4 * 22 / 64, rel=1e-15)
    assert d.ratio == 4.0 and d.weight_min == 1.0 and d.weight_max == 4.0
    assert "effective sample size 2.9" in str(d)


def test_equal_weights_lose_nothing():
    d = weight_diagnostics(np.full(250, 3.7))
    assert d.kish_deff == pytest.approx(1.0, rel=1e-14)
    assert d.n_effective == pytest.approx(250, rel=1e-14)


def test_a_zero_weight_has_an_infinite_ratio():
    assert weight_diagnostics([0.0, 1.0, 2.0]).ratio == float("inf")


def test_design_reports_the_trimming():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"w": rng.lognormal(0, 1, 400), "sex": rng.choice(["m", "f"], 400)})
    design = SurveyDesign(data, weights="w")
    assert design.weight_diagnostics.n_trimmed == 0
    trimmed = design.trim(upper=float(np.quantile(data["w"], 0.9)))
    diag = trimmed.weight_diagnostics
    assert diag.n_trimmed == trimmed.weighting.n_trimmed > 0
    assert diag.kish_deff < design.weight_diagnostics.kish_deff
