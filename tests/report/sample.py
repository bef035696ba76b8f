"""The report the project ships, on synthetic data: three waves through the example plan.

Built once per test process (the analysis takes several seconds) and shared by the report's
accessibility, layout and publishing tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from analysis.report.plan import load_plan
from analysis.synthetic import make_responses

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "analysis" / "report" / "example_plan.yaml"
ROWS_PER_WAVE = 1500


@lru_cache(maxsize=1)
def sample_findings():
    """Findings of the example plan on 3 x ROWS_PER_WAVE synthetic responses (seed 1), read
    from a CSV file as `survey-analysis report` reads it."""
    import tempfile

    from analysis.report.findings import build_findings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "responses.csv"
        make_responses(ROWS_PER_WAVE, waves=(2024, 2025, 2026), seed=1).to_csv(data, index=False)
        return build_findings(data, load_plan(EXAMPLE_PLAN))


def sample_plan():
    return load_plan(EXAMPLE_PLAN)
