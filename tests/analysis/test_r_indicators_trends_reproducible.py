"""The indicator and trend fixtures (indicators, Rao-Scott, domain means, svyglm trends) are
what their R
script produces: re-run it in a scratch copy when R is installed and compare."""

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "r_indicators_trends"
OUTPUTS = ("alpha.csv", "chisq.csv", "domain_means.csv", "indicators.csv", "trend.csv")


@pytest.mark.slow
def test_indicator_and_trend_fixtures_are_what_the_r_script_produces(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (R 4.2.2 with survey 4.1-1 made the fixtures; "
                    "scripts/install-system-packages.sh installs r-cran-survey)")
    # The script reads and writes tests/fixtures/r_indicators_trends relative to the working
    # directory.
    scratch = tmp_path / "tests" / "fixtures" / "r_indicators_trends"
    scratch.mkdir(parents=True)
    for name in ("make_fixtures.R", "data.csv", "scales.csv"):
        shutil.copy(FIXTURES / name, scratch / name)
    done = subprocess.run(["Rscript", str(scratch / "make_fixtures.R")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "there is no package called" in done.stderr:
        pytest.skip("R's survey package is not installed")
    assert done.returncode == 0, done.stderr
    for name in OUTPUTS:
        new = pd.read_csv(scratch / name)
        old = pd.read_csv(FIXTURES / name)
        pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-12)
