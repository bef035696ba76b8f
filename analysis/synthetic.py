"""Synthetic Ten Norms responses in the export schema, for tests, examples and benchmarks.

:func:`make_responses` builds a data frame shaped like the responses table that
``flask --app survey export`` writes (``docs/architecture.md`` section 2), plus the design columns a
face-to-face wave would carry (``stratum``, ``psu``, ``base_weight``). The data are made to be
*analysable*, not just well-typed:

* **Sample skew.** Demographics lean the way an online sample does against the census: too young,
  too urban, too educated, a little too male and too eastern. Raking to census margins therefore
  moves estimates, and weights vary.
* **Design.** Eight strata (NBS region x urban/rural). Within each stratum respondents are grouped
  into PSUs of about 20 (about 5% of rows are PSUs); PSUs are geographic (contiguous within a
  province) and numbered 1.. within each wave, so ids repeat across waves (each wave is its own
  design). The base weight is the inverse of an unequal PSU selection probability, with rural
  strata under-sampled.
* **Answers.** 5-point codes from a latent score that depends on demographics, a person-level
  "green attitude", a norm-specific person trait and a PSU random effect (so design effects
  exceed 1).
  Awareness (``_A1``) runs well above practice (``_P1``, ``_P2``): a knowledge-action gap. Practice
  trends upward for some norms (see :data:`PRACTICE_TREND_PER_YEAR`) and stays flat for others.
* **Missing data.** About 2% item nonresponse on every item, plus "not applicable" (exported as
  empty) on some practice items at the rates in :data:`NOT_APPLICABLE_RATE`.
* **Response quality.** About 3% speeders (very short duration, near-random answers), about 2%
  straight-liners (one answer across every norm page) and about 3% failing the attention check
  ``ATTN1`` (expected answer :data:`ATTENTION_EXPECTED`).

Everything is vectorised (no Python loop over rows) and deterministic for a seed: one million rows
take a few seconds. Run as a script to write a file::

    python -m analysis.synthetic --waves 2024,2025,2026 --rows-per-wave 5000 --seed 1 --out data.csv

The module is pure numpy/pandas and reads no file: the 31 provinces are a constant below (copied
from the project's reference data, GB/T 2260 codes and NBS regions).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "make_responses",
    "ITEM_COLUMNS",
    "NORM_CODES",
    "PROVINCES",
    "ATTENTION_EXPECTED",
    "PRACTICE_TREND_PER_YEAR",
    "NOT_APPLICABLE_RATE",
    "TRUTH_COLUMNS",
    "main",
]

NORM_CODES: tuple[str, ...] = tuple(f"N{k:02d}" for k in range(1, 11))
# Per norm: one awareness item and two practice items, in questionnaire order.
ITEM_SUFFIXES: tuple[str, ...] = ("A1", "P1", "P2")
ITEM_COLUMNS: tuple[str, ...] = tuple(f"{n}_{s}" for n in NORM_CODES for s in ITEM_SUFFIXES)
ATTENTION_ITEM = "ATTN1"
ATTENTION_EXPECTED = 4
# Columns added by ``include_truth=True``: what was *generated*, for testing quality flags.
TRUTH_COLUMNS: tuple[str, ...] = ("true_speeder", "true_straightliner", "true_attention_fail")

# 31 mainland provinces: (GB/T 2260 code, NBS region, 2020 census resident population).
# Copied from the project's reference table (Communique No. 3 of the 7th census); the product
# never reads the shared reference folder at run time.
PROVINCES: tuple[tuple[str, str, int], ...] = (
    ("110000", "east", 21893095),
    ("120000", "east", 13866009),
    ("130000", "east", 74610235),
    ("140000", "central", 34915616),
    ("150000", "west", 24049155),
    ("210000", "northeast", 42591407),
    ("220000", "northeast", 24073453),
    ("230000", "northeast", 31850088),
    ("310000", "east", 24870895),
    ("320000", "east", 84748016),
    ("330000", "east", 64567588),
    ("340000", "central", 61027171),
    ("350000", "east", 41540086),
    ("360000", "central", 45188635),
    ("370000", "east", 101527453),
    ("410000", "central", 99365519),
    ("420000", "central", 57752557),
    ("430000", "central", 66444864),
    ("440000", "east", 126012510),
    ("450000", "west", 50126804),
    ("460000", "east", 10081232),
    ("500000", "west", 32054159),
    ("510000", "west", 83674866),
    ("520000", "west", 38562148),
    ("530000", "west", 47209277),
    ("540000", "west", 3648100),
    ("610000", "west", 39528999),
    ("620000", "west", 25019831),
    ("630000", "west", 5923957),
    ("640000", "west", 7202654),
    ("650000", "west", 25852345),
)

REGIONS = ("east", "central", "west", "northeast")
URBAN_RURAL = ("urban", "rural")
SEXES = ("male", "female")
AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
EDUCATION = ("below_primary", "primary", "junior_secondary", "senior_secondary", "university")
STRATA = tuple(f"{r}_{u}" for r in REGIONS for u in URBAN_RURAL)

# Persons aged 15+ at the 2020 census (yearbook table 1-5); base weights of a wave sum to this.
ADULT_POPULATION = 1_156_394_786

# --- sample composition (an online sample: young, urban, educated) ------------------------------
_P_MALE = 0.53
_P_AGE = np.array([0.20, 0.31, 0.23, 0.14, 0.08, 0.04])
# Over-representation factor of each region relative to its population share.
_REGION_PULL = {"east": 1.30, "central": 0.90, "west": 0.80, "northeast": 0.85}
_P_URBAN_BY_REGION = {"east": 0.86, "central": 0.76, "west": 0.72, "northeast": 0.80}
# Education: cumulative-logit style, shifted by age and urban/rural (older and rural: less school).
_EDU_BASE_CUTS = np.array([-4.2, -2.9, -1.2, 0.15])  # P(edu <= level) on the logit scale
_EDU_AGE_SHIFT = np.array([-0.3, -0.5, -0.1, 0.5, 1.2, 1.9])
_EDU_RURAL_SHIFT = 1.0

# --- answer model on the 1..5 latent scale ------------------------------------------------------
# Awareness means run high; practice means lower (the knowledge-action gap).
_AWARENESS_MEAN = np.array([4.35, 4.20, 4.05, 4.10, 4.30, 4.25, 4.40, 3.95, 3.85, 4.30])
_PRACTICE_MEAN = np.array([
    [3.55, 3.35],  # N01 care for the environment
    [3.70, 3.40],  # N02 save energy and resources
    [3.25, 3.05],  # N03 green consumption
    [3.10, 2.90],  # N04 low-carbon travel
    [3.15, 3.30],  # N05 sort waste
    [3.45, 3.20],  # N06 reduce pollution
    [3.80, 3.60],  # N07 protect nature
    [2.55, 2.35],  # N08 take part in environmental activities
    [2.20, 2.45],  # N09 environmental supervision
    [3.05, 2.85],  # N10 build a beautiful China
])
# Practice change per year of the unweighted mean score, in points on the 0-100 scale
# (code 1 -> 0, 5 -> 100), from 2024 on; realised within about +-0.5 point.
PRACTICE_TREND_PER_YEAR: dict[str, float] = {
    "N03": 1.5, "N04": 4.0, "N05": 3.0,
    "N01": 0.0, "N02": 0.0, "N06": 0.0, "N07": 0.0, "N08": 0.0, "N09": 0.0, "N10": 0.0,
}
_TREND_BASE_YEAR = 2024
_TREND_DAMPING_OFFSET = 1.12
# "Not applicable" rates of practice items (e.g. N04_P2 asks about a car one may not have).
NOT_APPLICABLE_RATE: dict[str, float] = {
    "N04_P2": 0.08, "N05_P2": 0.04, "N08_P2": 0.06, "N09_P1": 0.05, "N02_P2": 0.03,
}
_ITEM_NONRESPONSE = 0.02
_SPEEDER_RATE = 0.03
_STRAIGHTLINER_RATE = 0.02
_ATTENTION_FAIL_RATE = 0.002  # among respondents who are neither speeders nor straight-liners
_SPEEDER_ATTENTION_FAIL = 0.4
_PSU_SIZE = 20

_SD_PSU = 0.28       # PSU random effect (shared by all items, loading 1)
_SD_GREEN = 0.45     # person-level general attitude
_SD_NORM = 0.35      # person x norm trait (shared by a norm's three items)
_SD_NOISE = 0.75     # item-level noise


def make_responses(
    rows_per_wave: int,
    waves: Sequence[int] = (2024, 2025, 2026),
    seed: int = 0,
    design: bool = True,
    *,
    include_truth: bool = False,
) -> pd.DataFrame:
    """Return synthetic Ten Norms responses in the export schema.

    Parameters
    ----------
    rows_per_wave:
        Number of completed responses in each wave (at least 1).
    waves:
        Survey years, one block of ``rows_per_wave`` rows each, in this order.
    seed:
        Seed of the random generator; the same arguments give the same frame.
    design:
        Add the design columns ``stratum`` (8 strata, ``"<region>_<urban_rural>"``), ``psu``
        (int, about 20 respondents each, nested in strata, numbered from 1 within each wave) and
        ``base_weight`` (float, inverse PSU selection probability; sums to the adult population of
        2020, 1,156,394,786, within each wave).
    include_truth:
        Add the generated quality status as bool columns :data:`TRUTH_COLUMNS`, to test
        response-quality flags against what was planted. Not part of the export schema.

    Returns
    -------
    pandas.DataFrame
        One row per response: ``response_id`` (str, 16 hex characters), ``wave`` (int64),
        ``sex, age_group, province, region, urban_rural, education`` (str category values of the
        architecture document), the 30 items ``N01_A1 .. N10_P2`` and ``ATTN1`` (nullable Int64,
        codes 1..5, missing = not answered or not applicable), ``started_at, submitted_at``
        (datetime64 UTC), ``duration_s`` (float seconds), then the design columns.
    """
    rows_per_wave = int(rows_per_wave)
    if rows_per_wave < 1:
        raise ValueError(f"rows_per_wave must be at least 1, got {rows_per_wave}")
    waves = [int(w) for w in waves]
    if not waves:
        raise ValueError("waves must name at least one survey year")
    if len(set(waves)) != len(waves):
        raise ValueError(f"waves must not repeat, got {waves}")

    rng = np.random.default_rng(seed)
    n_waves = len(waves)
    n = rows_per_wave * n_waves
    wave_idx = np.repeat(np.arange(n_waves, dtype=np.int64), rows_per_wave)
    wave_year = np.asarray(waves, dtype=np.int64)[wave_idx]

    # --- demographics ----------------------------------------------------------------------
    prov_codes = [p[0] for p in PROVINCES]
    prov_region = np.array([REGIONS.index(p[1]) for p in PROVINCES], dtype=np.int64)
    prov_pop = np.array([p[2] for p in PROVINCES], dtype=float)
    pull = np.array([_REGION_PULL[REGIONS[r]] for r in prov_region])
    p_prov = prov_pop * pull / (prov_pop * pull).sum()
    province = _draw(rng, p_prov, n)
    region = prov_region[province]

    p_urban = np.array([_P_URBAN_BY_REGION[r] for r in REGIONS])[region]
    rural = (rng.random(n) >= p_urban).astype(np.int64)  # 0 urban, 1 rural
    female = (rng.random(n) >= _P_MALE).astype(np.int64)
    age = _draw(rng, _P_AGE, n)
    # education by an ordered logit: older and rural respondents finished school earlier
    shift = _EDU_AGE_SHIFT[age] + _EDU_RURAL_SHIFT * rural
    cum = 1.0 / (1.0 + np.exp(-(_EDU_BASE_CUTS[None, :] + shift[:, None])))
    edu = (rng.random(n)[:, None] > cum).sum(axis=1).astype(np.int64)

    # --- design: strata, PSUs, base weights ------------------------------------------------
    stratum = region * 2 + rural
    n_strata = len(STRATA)
    group = wave_idx * n_strata + stratum  # (wave, stratum) cell
    n_groups = n_waves * n_strata
    # PSUs are geographic: sort each stratum by province, then cut into runs of ~20 respondents.
    order = np.lexsort((rng.random(n), province, group))
    g_sorted = group[order]
    counts = np.bincount(group, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    pos = np.arange(n, dtype=np.int64) - starts[g_sorted]
    n_psu = np.where(counts > 0, np.clip(np.rint(counts / _PSU_SIZE), 2, None), 0)
    n_psu = np.minimum(n_psu, counts).astype(np.int64)
    local = np.empty(n, dtype=np.int64)
    local[order] = pos * n_psu[g_sorted] // np.maximum(counts[g_sorted], 1)
    psu_global_start = np.cumsum(n_psu) - n_psu  # numbering over all waves
    psu_global = psu_global_start[group] + local
    wave_psu_start = psu_global_start.reshape(n_waves, n_strata)[:, :1]
    psu_in_wave = psu_global - wave_psu_start[wave_idx, 0] + 1
    total_psu = int(n_psu.sum())

    # Unequal PSU selection probabilities; rural strata were under-sampled.
    psu_size_measure = rng.lognormal(0.0, 0.45, total_psu)
    stratum_rate = np.where(np.arange(n_strata) % 2 == 1, 0.7, 1.0)  # rural: lower sampling rate
    inv_prob = 1.0 / (psu_size_measure[psu_global] * stratum_rate[stratum])
    wave_sum = np.bincount(wave_idx, weights=inv_prob, minlength=n_waves)
    base_weight = inv_prob * (ADULT_POPULATION / wave_sum[wave_idx])

    # --- answers ----------------------------------------------------------------------------
    n_items = len(ITEM_COLUMNS)
    norm_of_item = np.repeat(np.arange(10), 3)
    is_aware = np.tile(np.array([True, False, False]), 10)
    mean = np.empty((n_waves, n_items))
    years = np.asarray(waves, dtype=float) - _TREND_BASE_YEAR
    for k, code in enumerate(NORM_CODES):  # 10 norms, not rows
        mean[:, 3 * k] = _AWARENESS_MEAN[k]
        # points on 0-100 -> codes on 1..5; the factor offsets the damping by rounding and
        # clipping to 1..5 and by low-quality responses, so the realised trend is about as stated
        trend = PRACTICE_TREND_PER_YEAR[code] / 25.0 * _TREND_DAMPING_OFFSET
        mean[:, 3 * k + 1] = _PRACTICE_MEAN[k, 0] + trend * years
        mean[:, 3 * k + 2] = _PRACTICE_MEAN[k, 1] + trend * years

    # Demographic effects per item: awareness rises with education, practice with age; women and
    # urban residents practise a little more (urban strongly so for travel and waste sorting).
    edu_score = (edu - 2).astype(np.float32)
    age_score = (age - 2.5).astype(np.float32) / 2.5
    b_edu = np.where(is_aware, 0.16, 0.06).astype(np.float32)
    b_age = np.where(is_aware, 0.02, 0.10).astype(np.float32)
    b_female = np.where(is_aware, 0.06, 0.10).astype(np.float32)
    b_urban = np.where(is_aware, 0.05, 0.08).astype(np.float32)
    b_urban[[3 * 3 + 1, 3 * 3 + 2, 3 * 4 + 1, 3 * 4 + 2]] = 0.30  # N04, N05 practice
    region_effect = np.array([0.10, 0.0, -0.08, -0.03], dtype=np.float32)

    psu_effect = rng.normal(0.0, _SD_PSU, total_psu).astype(np.float32)
    person = (
        rng.normal(0.0, _SD_GREEN, n).astype(np.float32)
        + psu_effect[psu_global]
        + region_effect[region]
    )
    # item-major (items x rows) so that each item column is one contiguous array
    latent = rng.standard_normal((n_items, n), dtype=np.float32)
    latent *= _SD_NOISE
    latent += rng.standard_normal((10, n), dtype=np.float32)[norm_of_item] * _SD_NORM
    latent += mean.astype(np.float32).T[:, wave_idx]
    latent += person
    latent += b_edu[:, None] * edu_score
    latent += b_age[:, None] * age_score
    latent += b_female[:, None] * female.astype(np.float32)
    latent += b_urban[:, None] * (1 - rural).astype(np.float32)
    np.rint(latent, out=latent)
    np.clip(latent, 1, 5, out=latent)
    answers = latent.astype(np.int64)
    del latent

    # --- response quality: speeders, straight-liners, attention check -------------------------
    u = rng.random(n)
    speeder = u < _SPEEDER_RATE
    straight = (u >= _SPEEDER_RATE) & (u < _SPEEDER_RATE + _STRAIGHTLINER_RATE)
    # speeders click near random; straight-liners give one answer on every norm page
    n_speed = int(speeder.sum())
    answers[:, speeder] = rng.integers(1, 6, size=(n_items, n_speed))
    line_value = rng.choice(np.array([5, 4, 3, 1]), p=[0.5, 0.25, 0.2, 0.05], size=n)
    answers[:, straight] = line_value[straight]

    attn_wrong = rng.choice(np.array([1, 2, 3, 5]), size=n)
    attn_fail = np.where(
        speeder, rng.random(n) < _SPEEDER_ATTENTION_FAIL, rng.random(n) < _ATTENTION_FAIL_RATE
    ) & ~straight
    attention = np.where(attn_fail, attn_wrong, ATTENTION_EXPECTED)
    attention = np.where(straight, line_value, attention)
    attn_fail = attention != ATTENTION_EXPECTED

    # Missing answers: item nonresponse everywhere, "not applicable" on some practice items.
    # Straight-liners click every answer, so they have none missing.
    missing = rng.random((n_items, n), dtype=np.float32) < _ITEM_NONRESPONSE
    for item, rate in NOT_APPLICABLE_RATE.items():  # a handful of items, not rows
        j = ITEM_COLUMNS.index(item)
        # rural respondents are likelier to find travel/waste questions not applicable
        p = rate * np.where(rural == 1, 1.6, 0.8)
        missing[j] |= rng.random(n) < p
    missing[:, straight] = False
    attn_missing = (rng.random(n) < 0.005) & ~straight

    # --- timestamps ----------------------------------------------------------------------------
    # Field period: World Environment Day (5 June) to the end of August of the wave year.
    field_start = pd.to_datetime([f"{w}-06-05" for w in waves], utc=True).as_unit("s")
    field_seconds = 87 * 86400
    start_s = field_start.asi8[wave_idx] + rng.integers(0, field_seconds, n)
    duration = rng.lognormal(np.log(420.0), 0.45, n)
    duration = np.where(speeder, rng.uniform(35.0, 110.0, n), duration)
    duration_ms = np.rint(duration * 1000.0).astype(np.int64)
    started_at = pd.to_datetime(start_s, unit="s", utc=True).as_unit("ms")
    submitted_at = (started_at + pd.to_timedelta(duration_ms, unit="ms")).as_unit("ms")

    # --- assemble ------------------------------------------------------------------------------
    columns: dict[str, object] = {
        "response_id": _hex_ids(rng, n),
        "wave": wave_year,
        "sex": _strings(SEXES, female),
        "age_group": _strings(AGE_GROUPS, age),
        "province": _strings(prov_codes, province),
        "region": _strings(REGIONS, region),
        "urban_rural": _strings(URBAN_RURAL, rural),
        "education": _strings(EDUCATION, edu),
    }
    for j, item in enumerate(ITEM_COLUMNS):
        columns[item] = pd.arrays.IntegerArray(answers[j], missing[j])
    columns[ATTENTION_ITEM] = pd.arrays.IntegerArray(attention.astype(np.int64), attn_missing)
    columns["started_at"] = started_at
    columns["submitted_at"] = submitted_at
    columns["duration_s"] = duration_ms / 1000.0
    if design:
        columns["stratum"] = _strings(STRATA, stratum)
        columns["psu"] = psu_in_wave
        columns["base_weight"] = base_weight
    if include_truth:
        columns["true_speeder"] = speeder
        columns["true_straightliner"] = straight
        columns["true_attention_fail"] = attn_fail & ~attn_missing
    return pd.DataFrame(columns, copy=False)


def _draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Indices 0..len(p)-1 drawn with probabilities ``p`` (vectorised inverse CDF)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


# pandas' default string dtype ("str"), Arrow-backed when pyarrow is installed
_STR_DTYPE = pd.StringDtype(na_value=np.nan)


def _strings(categories: Sequence[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The string column ``categories[codes]``, built by an Arrow take (no Python objects)."""
    taken = pa.array(list(categories), type=pa.string()).take(pa.array(codes))
    return pd.array(taken, dtype=_STR_DTYPE)


def _hex_ids(rng: np.random.Generator, n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` opaque ids of 16 hex characters (64 random bits each), without a row loop."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = rng.integers(0, 16, size=n * 16, dtype=np.uint8)
    data = digits[nibbles]
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int32)
    ids = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return pd.array(ids, dtype=_STR_DTYPE)


def _parse_waves(text: str) -> list[int]:
    try:
        waves = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--waves must be comma-separated years such as 2024,2025, got {text!r}"
        ) from None
    if not waves:
        raise argparse.ArgumentTypeError("--waves names no year")
    return waves


def main(argv: list[str] | None = None) -> int:
    """Command line: write synthetic responses to CSV or Parquet (by the file extension)."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.synthetic",
        description="Write synthetic Ten Norms responses (export schema + design columns).",
    )
    parser.add_argument("--waves", type=_parse_waves, default=[2024, 2025, 2026],
                        help="comma-separated survey years (default 2024,2025,2026)")
    parser.add_argument("--rows-per-wave", type=int, default=5000,
                        help="responses per wave (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-design", action="store_true",
                        help="leave out stratum, psu and base_weight (an online sample)")
    parser.add_argument("--out", required=True, type=Path, help="FILE.csv or FILE.parquet")
    args = parser.parse_args(argv)

    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        print(f"python -m analysis.synthetic: error: --out must end in .csv or .parquet, "
              f"got {str(args.out)!r}", file=sys.stderr)
        return 2
    if args.rows_per_wave < 1:
        print("python -m analysis.synthetic: error: --rows-per-wave must be at least 1",
              file=sys.stderr)
        return 2
    if len(set(args.waves)) != len(args.waves):
        print(f"python -m analysis.synthetic: error: --waves repeats a year: {args.waves}",
              file=sys.stderr)
        return 2
    frame = make_responses(args.rows_per_wave, waves=args.waves, seed=args.seed,
                           design=not args.no_design)
    if suffix == ".parquet":
        frame.to_parquet(args.out, index=False)
    else:
        out = frame.copy()
        for col in ("started_at", "submitted_at"):
            # ISO 8601 UTC as the export writes it
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        out.to_csv(args.out, index=False)
    print(f"wrote {len(frame):,} responses ({', '.join(map(str, args.waves))}) to {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
