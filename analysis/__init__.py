"""Design-based analysis of Ten Norms survey responses.

Public API (see docs/analysis.md for a worked example)::

    from analysis import SurveyDesign, Margins, read_responses, read_margins, Estimates

    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    raked = design.rake(read_margins("margins.csv"))
    print(raked.weighting)
    print(raked.mean(["N01_A1", "N02_P1"], by="region"))

    # a responses file read, validated and cleaned the way every command does it
    survey = load_survey("responses.parquet")
    design = survey.design(2025, DesignSpec(weight="weight"))
"""

from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError, ConvergenceError
from analysis.estimates import Estimates
from analysis.io import read_margins, read_responses, write_table
from analysis.margins import Margins
from analysis.pipeline import DesignSpec, Survey, load_survey
from analysis.validation import check_answer_codes, check_wave_column
from analysis.weighting import WeightingReport

__all__ = [
    "AnalysisInputError",
    "ConvergenceError",
    "DesignSpec",
    "Estimates",
    "Margins",
    "Survey",
    "SurveyDesign",
    "WeightingReport",
    "check_answer_codes",
    "check_wave_column",
    "load_survey",
    "read_margins",
    "read_responses",
    "write_table",
]
