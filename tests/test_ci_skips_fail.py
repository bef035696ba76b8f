"""In CI a missing service fails the run instead of skipping (tests/conftest.py)."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")
SKIPS = """
import pytest

def test_needs_postgres():
    pytest.skip("no PostgreSQL server reachable at 127.0.0.1:5432")

@pytest.mark.skipif(True, reason="Rscript is not installed")
def test_needs_r():
    pass

def test_other_reason():
    pytest.skip("wave file not present")
"""


@pytest.mark.parametrize("ci, failed, skipped", [("true", 2, 1), ("", 0, 3)])
def test_service_skips_fail_only_in_ci(pytester, monkeypatch, ci, failed, skipped):
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(SKIPS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    # a skip at set-up (a skipif marker) turns into an error, a skip in the test into a failure
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == failed
    assert outcomes.get("skipped", 0) == skipped
