"""Derive analysis/data/census2020_adult_margins.csv from the project's reference census tables.

Development tool, not used at run time (the product reads only the CSV it writes)::

    python analysis/data/derive_census2020.py /work/shared/reference analysis/data

See README.md in this folder for what is derived and the caveats.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

# The survey's adult age bands (docs/architecture.md) from the census 5-year bands.
# Ages 18-19 are 2 of the 5 years of the published 15-19 band: no single-year table was found,
# so 2/5 of that band is an approximation (uniform ages within the band).
SHARE_OF_15_19 = 2 / 5
AGE_BANDS = {
    "18-24": [("15-19", SHARE_OF_15_19), ("20-24", 1.0)],
    "25-34": [("25-29", 1.0), ("30-34", 1.0)],
    "35-44": [("35-39", 1.0), ("40-44", 1.0)],
    "45-54": [("45-49", 1.0), ("50-54", 1.0)],
    "55-64": [("55-59", 1.0), ("60-64", 1.0)],
    "65+": [(b, 1.0) for b in ("65-69", "70-74", "75-79", "80-84", "85-89", "90-94", "95-99",
                               "100+")],
}
ADULT = [part for parts in AGE_BANDS.values() for part in parts]
# All-ages shares: the census publishes urban/rural and education only for the whole population
# (communiques No. 7 and No. 6); adults differ, so these are rough targets (README).
URBAN_RURAL = {"urban": 901_991_162, "rural": 509_787_562}
EDUCATION = {  # below_primary is the derived residual (below_primary_residual in the reference)
    "below_primary": 143_590_382,
    "primary": 349_658_828,
    "junior_secondary": 487_163_489,
    "senior_secondary": 213_005_258,
    "university": 218_360_767,
}


def main(reference: Path, out_dir: Path) -> None:
    bands: dict[str, dict[str, dict[str, int]]] = {}
    with open(reference / "china-census-2020-age-sex-5yr.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            bands.setdefault(row["province_code"], {})[row["age_band"]] = {
                k: int(row[k]) for k in ("total", "male", "female")}
    regions: dict[str, str] = {}
    with open(reference / "china-regions.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            regions[row["province_code"]] = row["region"]

    def adult(code: str, column: str) -> float:
        return sum(bands[code][band][column] * share for band, share in ADULT)

    nation = "000000"
    rows = []
    for sex in ("male", "female"):
        rows.append(("sex", sex, round(adult(nation, sex))))
    for group, parts in AGE_BANDS.items():
        rows.append(("age_group", group,
                     round(sum(bands[nation][b]["total"] * s for b, s in parts))))
    by_region: dict[str, float] = {}
    for code, region in regions.items():
        by_region[region] = by_region.get(region, 0.0) + adult(code, "total")
    for region in ("east", "central", "west", "northeast"):
        rows.append(("region", region, round(by_region[region])))
    for table, name in ((URBAN_RURAL, "urban_rural"), (EDUCATION, "education")):
        total = sum(table.values())
        for category, count in table.items():
            rows.append((name, category, f"{count / total:.10f}"))
    with open(out_dir / "census2020_adult_margins.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["variable", "category", "target"])
        w.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
