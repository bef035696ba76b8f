"""Derive the census margins in analysis/data/ from the project's reference census tables.

Two files, with each target's source and caveat in Chinese and English (the report quotes them):

* ``census2020_adult_margins.csv``: sex, age group and region of persons aged 18+, one base.
  These are valid targets for an adult sample and the product's default.
* ``census2020_allages_shares.csv``: urban/rural and education shares of the *whole*
  population (children included), the only form the census publishes them in. Not valid for
  adults; never used by default (README.md here says why).

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


ADULT_SOURCE = ("第七次全国人口普查年鉴（2020）表1-5，18岁及以上人口（不含现役军人）",
                "2020 census yearbook table 1-5, persons aged 18+ (active military excluded)")
AGE_CAVEAT = ("18—19岁人口按已公布的15—19岁组人数的五分之二估算（未找到单岁年龄表）",
              "ages 18-19 estimated as 2/5 of the published 15-19 band (no single-year table "
              "was found)")
REGION_SOURCE = ("第七次全国人口普查年鉴（2020）表1-5，各省18岁及以上人口按国家统计局四大区域加总",
                 "2020 census yearbook table 1-5, persons aged 18+ by province, summed over the "
                 "NBS regions")
ALL_AGES = {
    "urban_rural": (("第七次全国人口普查公报（第七号），全体人口（含儿童和现役军人）",
                     "2020 census communique No. 7, whole population (children and military "
                     "included)"),
                    ("全年龄人口的比例，不是成年人的比例；默认加权不使用",
                     "shares of all ages, not of adults; not used by the default weighting")),
    "education": (("第七次全国人口普查公报（第六号），全体人口（含儿童和现役军人）",
                   "2020 census communique No. 6, whole population (children and military "
                   "included)"),
                  ("包括在校学生和儿童，小学以下为推算的余数；对成年人明显偏差，默认加权不使用",
                   "includes pupils and young children, below_primary is a derived remainder; "
                   "badly off for adults and not used by the default weighting")),
}
COLUMNS = ["variable", "category", "target", "source_zh", "source_en", "caveat_zh", "caveat_en"]


def _write(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


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
    adult_rows = []
    for sex in ("male", "female"):
        adult_rows.append(("sex", sex, round(adult(nation, sex)), *ADULT_SOURCE, *AGE_CAVEAT))
    for group, parts in AGE_BANDS.items():
        caveat = AGE_CAVEAT if group == "18-24" else ("", "")
        adult_rows.append(("age_group", group,
                           round(sum(bands[nation][b]["total"] * s for b, s in parts)),
                           *ADULT_SOURCE, *caveat))
    by_region: dict[str, float] = {}
    for code, region in regions.items():
        by_region[region] = by_region.get(region, 0.0) + adult(code, "total")
    for region in ("east", "central", "west", "northeast"):
        adult_rows.append(("region", region, round(by_region[region]), *REGION_SOURCE,
                           *AGE_CAVEAT))
    _write(out_dir / "census2020_adult_margins.csv", adult_rows)
    share_rows = []
    for table, name in ((URBAN_RURAL, "urban_rural"), (EDUCATION, "education")):
        total = sum(table.values())
        source, caveat = ALL_AGES[name]
        for category, count in table.items():
            share_rows.append((name, category, f"{count / total:.10f}", *source, *caveat))
    _write(out_dir / "census2020_allages_shares.csv", share_rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
