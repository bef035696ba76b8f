"""The Estimate result: the former Estimates API unchanged, covariances, contrasts."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.estimates as estimates_module
from analysis import Estimates, SurveyDesign
from analysis.results import Estimate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _stored_tables_module():
    path = FIXTURES / "estimate_tables" / "make_tables.py"
    spec = importlib.util.spec_from_file_location("make_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tables_text_and_attributes_are_those_of_the_former_estimates():
    make = _stored_tables_module()
    stored = pd.read_csv(FIXTURES / "estimate_tables" / "tables.csv", keep_default_na=False,
                         na_values=[""], dtype={"by": str, "group": str})
    text = (FIXTURES / "estimate_tables" / "tables.txt").read_text(encoding="utf-8")
    texts = []
    for name, design in make.designs():
        for call, est in make.tables(design):
            assert isinstance(est, Estimates)
            want = stored[(stored.design == name) & (stored.call == call)].drop(
                columns=["design", "call"]).reset_index(drop=True)
            got = est.table
            assert list(got.columns) == list(want.columns)
            assert got["n"].dtype == np.int64 and got["deff"].dtype == np.float64
            for col in ("item", "by", "group"):
                assert got[col].tolist() == want[col].fillna("").tolist()
            np.testing.assert_array_equal(got["n"].to_numpy(), want["n"].to_numpy())
            for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
                # to a few units in the last place, not bit for bit: the sums go through
                # BLAS, whose kernels (and so the order of additions) depend on the CPU
                np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                           rtol=1e-14, atol=0, err_msg=col)
            texts.append(f"== {name} {call} {len(est)} {est.statistic} {est.levels}\n{est}\n")
    assert "".join(texts) == text


@pytest.fixture(scope="module")
def core():
    return pd.read_csv(FIXTURES / "r_core" / "core.csv")


def test_asking_for_covariances_changes_no_variance(core):
    design = SurveyDesign(core, weights="w", strata="stratum", psu="psu")
    plain = design.mean(["y1", "y2", "y3"], by="region")
    for level in ("group", "by", "all"):
        est = design.mean(["y1", "y2", "y3"], by="region", covariance=level)
        np.testing.assert_array_equal(est.se, plain.se)
        np.testing.assert_array_equal(np.diag(est.vcov), np.diag(plain.vcov))
    assert np.isnan(plain.vcov[0, 1])


@pytest.mark.parametrize("lonely_psu", ["remove", "adjust", "average", "certainty"])
def test_covariance_over_windows_of_psus_equals_the_direct_one(core, monkeypatch, lonely_psu):
    lonely = pd.read_csv(FIXTURES / "r_core" / "lonely.csv")
    design = SurveyDesign(lonely, weights="w", strata="stratum", psu="psu",
                          lonely_psu=lonely_psu)
    items = ["y1", "y2", "y3", "y4"]
    direct = design.mean(items, by="region", covariance="all")
    # aggregates bounded to a few cells: items in chunks, covariances over 1-PSU windows
    monkeypatch.setattr(estimates_module, "MAX_AGGREGATE_CELLS", 7)
    windowed = design.mean(items, by="region", covariance="all")
    np.testing.assert_array_equal(windowed.se, direct.se)
    np.testing.assert_allclose(windowed.vcov, direct.vcov, rtol=1e-12, atol=1e-15)


def test_covariance_of_a_calibrated_design_over_windows(core, monkeypatch):
    from analysis import read_margins

    design = SurveyDesign(core, weights="w", strata="stratum", psu="psu").rake(
        read_margins(FIXTURES / "r_core" / "margins.csv"), epsilon=1e-13)
    direct = design.proportion(["y1", "y2"], levels=[4, 5], by="sex", covariance="by")
    monkeypatch.setattr(estimates_module, "MAX_AGGREGATE_CELLS", 50)
    windowed = design.proportion(["y1", "y2"], levels=[4, 5], by="sex", covariance="by")
    np.testing.assert_allclose(windowed.vcov, direct.vcov, rtol=1e-12, atol=1e-15)


def small():
    return Estimate(coef=[2.0, 4.0, np.nan], vcov=[[1.0, 0.5, np.nan], [0.5, 2.0, np.nan],
                                                    [np.nan, np.nan, np.nan]],
                    item=["a", "b", "c"], n=[10, 12, 0], df=9)


def test_contrast_ratio_and_undefined_estimates():
    est = small()
    lin = est.contrast([[1, -1, 0], [0, 0, 1]], names=["a-b", "c"], offset=[1, 0])
    np.testing.assert_allclose(lin.coef[0], -1.0)
    assert lin.vcov[0, 0] == pytest.approx(1 + 2 - 2 * 0.5)
    assert np.isnan(lin.coef[1]) and np.isnan(lin.se[1]) and np.isnan(lin.vcov[0, 1])
    ratio = est.ratio("a", "b")
    g = np.array([1 / 4, -2 / 16])
    assert ratio.coef[0] == 0.5 and ratio.vcov[0, 0] == pytest.approx(g @ est.vcov[:2, :2] @ g)
    numeric = est.select([0, 1]).contrast_fn(lambda x: np.exp(x[0]) * x[1] ** 2)
    J = np.array([np.exp(2.0) * 16, np.exp(2.0) * 8])
    assert numeric.vcov[0, 0] == pytest.approx(J @ est.vcov[:2, :2] @ J, rel=1e-14)


def test_confint_frame_and_groups():
    est = small()
    ci = est.confint(0.9, df=est.df)
    from scipy import stats

    assert ci[0, 1] - 2.0 == pytest.approx(stats.t.ppf(0.95, 9) * 1.0)
    frame = est.contrast([1, 1, 0], names=["s"]).to_frame()
    assert frame["n"].isna().all() and list(frame.columns) == estimates_module.COLUMNS
    grouped = Estimate(coef=[1.0, 2.0, 3.0, 5.0], vcov=np.eye(4), item=["a", "b"] * 2,
                       by=["sex"] * 4, group=["f", "f", "m", "m"], blocks=[0, 0, 1, 1])
    diff = grouped.contrast_within_groups([[1, -1]], names=["a-b"])
    assert diff.coef.tolist() == [-1.0, -2.0] and diff.group == ("f", "m")
    assert diff.vcov[0, 0] == 2.0 and np.isnan(diff.vcov[0, 1])
