"""Errors the analysis package raises for bad input.

Every problem a user can fix (a missing column, a non-numeric answer, a margin category with no
respondents) is an :class:`AnalysisInputError`. Its message names the column and the value, and the
command line prints it as one line on stderr and exits with status 2, never a traceback.
"""


class AnalysisInputError(ValueError):
    """Input data, margins or options that cannot be analysed as given.

    The message must name what is wrong and where (file, column, value), in one line.
    """


class ConvergenceError(AnalysisInputError):
    """Raking or calibration did not converge within the allowed iterations."""


MAX_SHOWN = 80  # characters of a value from the input that a message may echo


def bounded(text, limit: int = MAX_SHOWN) -> str:
    """``text`` on one line and at most ``limit`` characters (an ellipsis marks a cut): input
    values are echoed in messages, and a 1 MB cell must not become a 1 MB message."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
