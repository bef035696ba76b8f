"""Project copies of reference data the analysis ships with (see README.md here).

``CENSUS_2020_ADULT_MARGINS``: raking margins for an adult (18+) sample (sex, age group, region),
derived from China's 2020 census: the default weighting targets.
``CENSUS_2020_ALLAGES_SHARES``: urban/rural and education shares of the whole population (the
only form the census publishes them in); not valid for adults, never used by default.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
CENSUS_2020_ADULT_MARGINS = DATA_DIR / "census2020_adult_margins.csv"
CENSUS_2020_ALLAGES_SHARES = DATA_DIR / "census2020_allages_shares.csv"
