"""Design-based analysis of Ten Norms survey responses.

Public API (see docs/analysis.md for a worked example)::

    from analysis import SurveyDesign, Margins, read_responses, read_margins, Estimates

    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    raked = design.rake(read_margins("margins.csv"))
    print(raked.weighting)
    print(raked.mean(["N01_A1", "N02_P1"], by="region"))
"""

from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError, ConvergenceError
from analysis.estimates import Estimates
from analysis.io import read_margins, read_responses, write_table
from analysis.margins import Margins
from analysis.validation import check_answer_codes, check_wave_column
from analysis.weighting import WeightingReport

__all__ = [
    "AnalysisInputError",
    "ConvergenceError",
    "Estimates",
    "Margins",
    "SurveyDesign",
    "WeightingReport",
    "check_answer_codes",
    "check_wave_column",
    "read_margins",
    "read_responses",
    "write_table",
]
