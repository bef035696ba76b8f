"""Design-based analysis of Ten Norms survey responses.

Public API (see docs/analysis.md for a worked example)::

    from analysis import SurveyDesign, Margins, read_responses, read_margins, Estimates
"""

from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError, ConvergenceError
from analysis.estimates import Estimates

__all__ = [
    "AnalysisInputError",
    "ConvergenceError",
    "Estimates",
    "SurveyDesign",
]
