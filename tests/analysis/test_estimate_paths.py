"""The in-memory engine gives the numbers it gave before its per-item passes were cut.

tests/fixtures/estimate_paths/tables.csv holds, at full precision, the estimates, SEs, design
effects, answer counts and covariance row sums that commit 4eeff74 computed on designs that
take each path of ``_domain_aggregates``: strata, PSUs and an fpc; raking; raking then trimming
(calibration ratios that vary within cells); bounded linear calibration; post-stratification;
two calibration steps; lonely PSUs averaged; nullable integer and float items with missing
answers and an item answered by all; domains; means, totals, proportions, ``na_rm=False`` and
covariances. Sums are now added in another order, so agreement is to 1e-12, not bitwise.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "estimate_paths"
NUMBERS = ["estimate", "se", "ci_low", "ci_high", "n", "deff", "cov_rowsum"]


def _make_tables():
    spec = importlib.util.spec_from_file_location("estimate_paths_tables",
                                                  FIXTURE / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _make_tables()
STORED = pd.read_csv(FIXTURE / "tables.csv", keep_default_na=False, na_values=[""],
                     dtype={"by": str, "group": str})
DESIGNS = dict(MAKE.designs())


@pytest.mark.parametrize("name", list(DESIGNS))
def test_estimates_equal_the_stored_ones_to_1e_12(name):
    calls = 0
    for call, est in MAKE.tables(DESIGNS[name]):
        want = STORED[(STORED.design == name) & (STORED.call == call)].reset_index(drop=True)
        got = MAKE.table_of(est).reset_index(drop=True)
        assert len(want) == len(got) > 0, (name, call)
        for col in ("item", "by", "group"):
            assert got[col].astype(str).tolist() == want[col].fillna("").tolist()
        for col in NUMBERS:
            g = got[col].to_numpy(dtype=float)
            w = want[col].to_numpy(dtype=float)
            assert (np.isnan(g) == np.isnan(w)).all(), (name, call, col)
            ok = ~np.isnan(w)
            scale = np.abs(w[ok]).max(initial=0.0)
            np.testing.assert_allclose(g[ok], w[ok], rtol=1e-12, atol=1e-12 * scale,
                                       err_msg=f"{name} {call} {col}")
        calls += 1
    assert calls == 5


def test_the_designs_take_every_path():
    """What the fixture is for: each path of the engine is exercised."""
    cal = {name: d.calibration for name, d in DESIGNS.items()}
    assert cal["fpc"] is None and DESIGNS["fpc"].structure.fpc_factor.max() > 0
    assert cal["raked"].cell_ratios[0] is not None  # ratios constant within cells
    assert cal["raked_trimmed"].cell_ratios[0] is None  # ratios that vary within cells
    assert len(cal["raked_poststratified"].steps) == 2
    assert DESIGNS["lonely_average"].structure.lonely.any()
    data = DESIGNS["fpc"].data
    assert data[MAKE.INT_ITEMS[0]].isna().any() and data["score"].isna().any()
    assert not data["complete"].isna().any()
