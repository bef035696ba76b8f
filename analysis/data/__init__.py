"""Project copies of reference data the analysis ships with (see README.md here).

``CENSUS_2020_ADULT_MARGINS`` is the path of ``census2020_adult_margins.csv``: raking margins for
an adult (18+) sample in the survey's categories, derived from China's 2020 census.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
CENSUS_2020_ADULT_MARGINS = DATA_DIR / "census2020_adult_margins.csv"
