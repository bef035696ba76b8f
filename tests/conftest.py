"""Suite-wide rules.

Tests that need a service or a system package (PostgreSQL, Redis, Chromium, R with the survey
package, the CJK font, poppler-utils, axe-core, Dask) skip with a reason on a developer's machine
that lacks it. In CI (``CI=true``) such a skip is a failure: a green run that silently skipped them
would prove nothing. The reasons below are how the skip messages of this suite name what is
missing; a new service's skip message should name it the same way.
"""

from __future__ import annotations

import os
import re

import pytest

REQUIRED_IN_CI = re.compile(
    r"PostgreSQL|Redis|nginx|Chromium|chromium|playwright|Rscript|R's survey|\bR\b|CJK font|"
    r"fonts-noto-cjk|poppler|pdftotext|pdffonts|axe-core|npm|Dask",
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if REQUIRED_IN_CI.search(reason):
        report.outcome = "failed"
        report.longrepr = f"CI=true and a required service or package is missing: {reason}"
