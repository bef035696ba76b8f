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
* **Items.** By default (``items="wave"``) each wave asks exactly the scale and attention items of
  its definition (:func:`questionnaires.load_wave`): the 2024-2026 waves ask 38 scale items, among
  them ``N02_P3`` in wording version 1 (2018 air-conditioning thresholds) in 2024 and version 2
  later, and ``N04_P4`` only of respondents who travel by car (its condition on ``N04_P3``). An item
  a wave does not ask is an empty column for that wave's rows. ``items="core"`` gives the 30 core
  items ``N01_A1 .. N10_P2`` (:data:`ITEM_COLUMNS`) and ``ATTN1`` in every wave, as the
  benchmarks use; a year without a definition always gets those.
* **Answers.** 5-point codes from a latent score that depends on demographics, a person-level
  "green attitude", a norm-specific person trait and a PSU random effect (so design effects
  exceed 1).
  Awareness (``_A1``) runs well above practice (``_P1``, ``_P2``, ...): a knowledge-action gap.
  Practice trends upward for some norms (see :data:`PRACTICE_TREND_PER_YEAR`) and stays flat for
  others. A wording version can shift its item's answers (:data:`WORDING_SHIFT`: the stricter 2018
  air-conditioning wording of ``N02_P3`` is practised less often).
* **Missing data.** About 2% item nonresponse on every item, plus "not applicable" at the rates
  in :data:`NOT_APPLICABLE_RATE`, only on items whose definition offers it: code 9 as the export
  writes it with ``not_applicable_as_code=True`` (the command line's default), else empty.
  A conditional item is empty where its condition is not met (``Item.condition.is_met`` on the
  answer code, "not applicable" being code 9).
* **Response quality.** About 3% speeders (very short duration, near-random answers), about 2%
  straight-liners (one answer to every item of every page, new items included) and about 3%
  failing the attention check ``ATTN1`` (expected answer :data:`ATTENTION_EXPECTED`).

Everything is vectorised (no Python loop over rows) and deterministic for a seed: one million rows
take a few seconds. Run as a script to write a file::

    python -m analysis.synthetic --waves 2024,2025,2026 --rows-per-wave 5000 --seed 1 --out data.csv
    python -m analysis.synthetic --waves 2026 --rows-per-wave 1000000 --items core --out b.parquet

The module is numpy/pandas; it reads the wave definitions and the item bank through
``questionnaires`` and nothing else: the 31 provinces are a constant below (copied from the
project's reference data, GB/T 2260 codes and NBS regions).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from questionnaires import (
    NOT_APPLICABLE_CODE,
    Condition,
    Item,
    available_waves,
    load_item_bank,
    load_wave,
)

__all__ = [
    "make_responses",
    "write_partitioned",
    "wave_items",
    "ITEM_COLUMNS",
    "ITEM_SETS",
    "NORM_CODES",
    "PROVINCES",
    "ATTENTION_EXPECTED",
    "PRACTICE_TREND_PER_YEAR",
    "NOT_APPLICABLE_RATE",
    "WORDING_SHIFT",
    "TRUTH_COLUMNS",
    "main",
]

NORM_CODES: tuple[str, ...] = tuple(f"N{k:02d}" for k in range(1, 11))
# The core items: per norm one awareness item and two practice items, in questionnaire order.
ITEM_SUFFIXES: tuple[str, ...] = ("A1", "P1", "P2")
ITEM_COLUMNS: tuple[str, ...] = tuple(f"{n}_{s}" for n in NORM_CODES for s in ITEM_SUFFIXES)
ATTENTION_ITEM = "ATTN1"
ATTENTION_EXPECTED = 4
# ``items=`` of make_responses: the wave definitions' items, or the 30 core items in every wave.
ITEM_SETS: tuple[str, ...] = ("wave", "core")
_GENERATED_KINDS = ("awareness", "practice", "attention")
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
# Practice items' means (codes 1..5) in the first trend year.
_PRACTICE_MEAN: dict[str, float] = {
    "N01_P1": 3.55, "N01_P2": 3.35,                                  # care for the environment
    "N02_P1": 3.70, "N02_P2": 3.40, "N02_P3": 3.45, "N02_P4": 3.60,  # save energy and resources
    "N03_P1": 3.25, "N03_P2": 3.05, "N03_P3": 2.95,                  # green consumption
    "N04_P1": 3.10, "N04_P2": 2.90, "N04_P3": 2.75, "N04_P4": 3.20,  # low-carbon travel
    "N05_P1": 3.15, "N05_P2": 3.30, "N05_P3": 3.55,                  # sort waste
    "N06_P1": 3.45, "N06_P2": 3.20, "N06_P3": 3.70,                  # reduce pollution
    "N07_P1": 3.80, "N07_P2": 3.60, "N07_P3": 3.75,                  # protect nature
    "N08_P1": 2.55, "N08_P2": 2.35,                  # take part in environmental activities
    "N09_P1": 2.20, "N09_P2": 2.45,                  # environmental supervision
    "N10_P1": 3.05, "N10_P2": 2.85,                  # build a beautiful China
}
# Shift (codes 1..5) of the answers to one wording version of an item: version 1 of N02_P3 asks
# for the 2018 thresholds (26 degC in summer, 20 degC in winter), a stricter behaviour than
# version 2's "set the air conditioning sensibly", so it is practised less often.
WORDING_SHIFT: dict[tuple[str, int], float] = {("N02_P3", 1): -0.3}
# Practice change per year of the unweighted mean score, in points on the 0-100 scale
# (code 1 -> 0, 5 -> 100), from 2024 on; realised within about +-0.5 point.
PRACTICE_TREND_PER_YEAR: dict[str, float] = {
    "N03": 1.5, "N04": 4.0, "N05": 3.0,
    "N01": 0.0, "N02": 0.0, "N06": 0.0, "N07": 0.0, "N08": 0.0, "N09": 0.0, "N10": 0.0,
}
_TREND_BASE_YEAR = 2024
_TREND_DAMPING_OFFSET = 1.12
# "Not applicable" rates of the practice items that offer it (item bank ``not_applicable``), on
# average over urban and rural respondents (rural x1.6, urban x0.8). N04_P3's "not applicable" is
# "I never travel by car", which hides the follow-up N04_P4. Applied only where the wave's item
# offers "not applicable".
NOT_APPLICABLE_RATE: dict[str, float] = {
    "N02_P3": 0.05, "N02_P4": 0.06, "N04_P2": 0.08, "N04_P3": 0.15, "N05_P1": 0.02,
    "N05_P2": 0.04, "N06_P3": 0.10, "N07_P2": 0.03, "N09_P1": 0.05, "N09_P2": 0.03,
}
_ITEM_NONRESPONSE = 0.02
_SPEEDER_RATE = 0.03
_STRAIGHTLINER_RATE = 0.02
_ATTENTION_FAIL_RATE = 0.002  # among respondents who are neither speeders nor straight-liners
_SPEEDER_ATTENTION_FAIL = 0.4
_PSU_SIZE = 20

_SD_PSU = 0.28       # PSU random effect (shared by all items, loading 1)
_SD_GREEN = 0.45     # person-level general attitude
_SD_NORM = 0.35      # person x norm trait (shared by a norm's items)
_SD_NOISE = 0.75     # item-level noise


def wave_items(year: int, items: str = "wave") -> tuple[Item, ...]:
    """The scale and attention items the synthetic data ask in wave ``year``, in page order.

    ``items="wave"``: exactly those of the wave definition ``questionnaires/waves/YEAR.yaml``
    (with their wording versions, "not applicable" options and conditions). ``items="core"``, or a
    year without a definition: the 30 core items :data:`ITEM_COLUMNS` and ``ATTN1``, as the wave
    defines them where it does, otherwise in the item bank's newest wording.
    """
    if items not in ITEM_SETS:
        raise ValueError(f"items must be one of {', '.join(map(repr, ITEM_SETS))}, got {items!r}")
    wave = _wave_definition(int(year))
    if items == "wave" and wave is not None:
        return tuple(i for p in wave.pages for i in p.items if i.kind in _GENERATED_KINDS)
    defined = wave.items if wave is not None else {}
    bank = load_item_bank()
    return tuple(defined.get(code) or bank[code].to_item()
                 for code in (*ITEM_COLUMNS, ATTENTION_ITEM))


@lru_cache(maxsize=32)
def _wave_definition(year: int):
    return load_wave(year) if year in available_waves() else None


def make_responses(
    rows_per_wave: int,
    waves: Sequence[int] = (2024, 2025, 2026),
    seed: int = 0,
    design: bool = True,
    *,
    include_truth: bool = False,
    items: str = "wave",
    not_applicable_as_code: bool = False,
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
    items:
        ``"wave"`` (default): each wave asks the scale and attention items of its definition
        (:func:`wave_items`); ``"core"``: the 30 core items and ``ATTN1`` in every wave.
    not_applicable_as_code:
        Write "not applicable" as code 9, as the export does (docs/architecture.md); the default
        leaves it empty. Analyse such data through :func:`analysis.load_survey`, which takes 9
        out of the domain of every estimate.

    Returns
    -------
    pandas.DataFrame
        One row per response: ``response_id`` (str, 16 hex characters), ``wave`` (int64),
        ``sex, age_group, province, region, urban_rural, education`` (str category values of the
        architecture document), one column per scale item any wave asks (sorted by code, so
        ``N01_A1, N01_P1, ..., N10_P2``) then the attention item ``ATTN1`` (nullable Int64,
        codes 1..5, and 9 with ``not_applicable_as_code``; missing = not answered, not asked in
        that wave, not shown, or not applicable without ``not_applicable_as_code``),
        ``started_at, submitted_at`` (datetime64 UTC), ``duration_s`` (float seconds), then the
        design columns.
    """
    rows_per_wave = int(rows_per_wave)
    if rows_per_wave < 1:
        raise ValueError(f"rows_per_wave must be at least 1, got {rows_per_wave}")
    waves = [int(w) for w in waves]
    if not waves:
        raise ValueError("waves must name at least one survey year")
    if len(set(waves)) != len(waves):
        raise ValueError(f"waves must not repeat, got {waves}")
    asked_items = [wave_items(y, items) for y in waves]  # validates ``items``

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

    # --- which items each wave asks ---------------------------------------------------------
    by_code = [{item.code: item for item in asked} for asked in asked_items]
    scale_codes = sorted({c for lookup in by_code for c, i in lookup.items()
                          if i.kind != "attention"})
    attention_codes = sorted({c for lookup in by_code for c, i in lookup.items()
                              if i.kind == "attention"})
    n_items = len(scale_codes)
    norm_of_item = np.array([NORM_CODES.index(c[:3]) for c in scale_codes], dtype=np.int64)
    # the kind is the item bank's, the same in every wave
    kind = {c: i.kind for lookup in by_code for c, i in lookup.items()}
    is_aware = np.array([kind[c] == "awareness" for c in scale_codes])
    asked = np.array([[c in lookup for c in scale_codes] for lookup in by_code], dtype=bool)

    # --- answers ----------------------------------------------------------------------------
    mean = np.zeros((n_waves, n_items))
    years = np.asarray(waves, dtype=float) - _TREND_BASE_YEAR
    for j, code in enumerate(scale_codes):  # items, not rows
        norm = NORM_CODES[norm_of_item[j]]
        if is_aware[j]:
            mean[:, j] = _AWARENESS_MEAN[norm_of_item[j]]
        else:
            # points on 0-100 -> codes on 1..5; the factor offsets the damping by rounding and
            # clipping to 1..5 and by low-quality responses, so the realised trend is about as
            # stated
            trend = PRACTICE_TREND_PER_YEAR[norm] / 25.0 * _TREND_DAMPING_OFFSET
            mean[:, j] = _practice_mean(code) + trend * years
        for w, lookup in enumerate(by_code):
            if code in lookup:
                mean[w, j] += WORDING_SHIFT.get((code, lookup[code].wording_version), 0.0)

    # Demographic effects per item: awareness rises with education, practice with age; women and
    # urban residents practise a little more (urban strongly so for travel and waste sorting).
    edu_score = (edu - 2).astype(np.float32)
    age_score = (age - 2.5).astype(np.float32) / 2.5
    b_edu = np.where(is_aware, 0.16, 0.06).astype(np.float32)
    b_age = np.where(is_aware, 0.02, 0.10).astype(np.float32)
    b_female = np.where(is_aware, 0.06, 0.10).astype(np.float32)
    b_urban = np.where(is_aware, 0.05, 0.08).astype(np.float32)
    b_urban[~is_aware & np.isin(norm_of_item, [3, 4])] = 0.30  # N04, N05 practice
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
    answers = latent.astype(np.int8)
    del latent

    # --- response quality: speeders, straight-liners, attention check -------------------------
    u = rng.random(n)
    speeder = u < _SPEEDER_RATE
    straight = (u >= _SPEEDER_RATE) & (u < _SPEEDER_RATE + _STRAIGHTLINER_RATE)
    # speeders click near random; straight-liners give one answer to every item of every page
    n_speed = int(speeder.sum())
    answers[:, speeder] = rng.integers(1, 6, size=(n_items, n_speed), dtype=np.int8)
    line_value = rng.choice(np.array([5, 4, 3, 1]), p=[0.5, 0.25, 0.2, 0.05], size=n)
    answers[:, straight] = line_value[straight]

    attn_fail = np.where(
        speeder, rng.random(n) < _SPEEDER_ATTENTION_FAIL, rng.random(n) < _ATTENTION_FAIL_RATE
    ) & ~straight
    attn_wrong = rng.integers(1, 5, size=n)  # one of the four codes other than the expected one
    attn_missing = (rng.random(n) < 0.005) & ~straight
    attention: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    attn_failed = np.zeros(n, dtype=bool)
    for code in attention_codes:  # one item, ATTN1, in the shipped waves
        expected = np.array([lookup[code].expected if code in lookup else 0
                             for lookup in by_code], dtype=np.int64)[wave_idx]
        answer = np.where(attn_fail, attn_wrong + (attn_wrong >= expected), expected)
        answer = np.where(straight, line_value, answer)
        unasked = ~np.array([code in lookup for lookup in by_code])[wave_idx]
        attention[code] = (answer, attn_missing | unasked)
        attn_failed |= (answer != expected) & ~attn_missing & ~unasked

    # Missing answers: item nonresponse everywhere, "not applicable" where the wave's item offers
    # it. Straight-liners click every answer, so they have none missing.
    no_answer = rng.random((n_items, n), dtype=np.float32) < _ITEM_NONRESPONSE
    not_applicable = np.zeros((n_items, n), dtype=bool)
    # rural respondents are likelier to find travel, waste or energy questions not applicable
    na_factor = np.where(rural == 1, 1.6, 0.8)
    for j, code in enumerate(scale_codes):  # items, not rows
        rate = NOT_APPLICABLE_RATE.get(code, 0.0)
        offered = np.array([code in lookup and lookup[code].not_applicable is not None
                            for lookup in by_code])
        if rate > 0 and offered.any():
            not_applicable[j] = (rng.random(n) < rate * na_factor) & offered[wave_idx]
    no_answer[:, straight] = False
    not_applicable[:, straight] = False
    not_applicable &= ~no_answer
    # Shown: asked in the respondent's wave and, for a conditional item, its condition met by the
    # answer code given earlier (9 = not applicable; unanswered never meets a condition).
    shown = asked.T[:, wave_idx]
    code_index = {c: j for j, c in enumerate(scale_codes)}
    for w, lookup in enumerate(by_code):  # waves x items, each on a block of rows
        rows = slice(w * rows_per_wave, (w + 1) * rows_per_wave)
        for item in lookup.values():  # page order, so a condition sees its item's final state
            if item.condition is None:
                continue
            if not isinstance(item.condition, Condition):
                raise ValueError(
                    f"wave {waves[w]}: item {item.code!r} is shown on the condition "
                    f"{item.condition.text()!r}; the synthetic data follow conditions on one "
                    "question's answer codes only")
            if item.condition.item not in code_index:
                raise ValueError(
                    f"wave {waves[w]}: item {item.code!r} is shown on a condition on "
                    f"{item.condition.item!r}, which the synthetic data do not generate")
            c = code_index[item.condition.item]
            given = np.where(not_applicable[c, rows], NOT_APPLICABLE_CODE, answers[c, rows])
            given = np.where(no_answer[c, rows] | ~shown[c, rows], 0, given)
            meets = np.array([item.condition.is_met({item.condition.item: v or None})
                              for v in range(max(NOT_APPLICABLE_CODE, 5) + 1)])
            shown[code_index[item.code], rows] &= meets[given]
    missing = no_answer
    missing |= not_applicable
    missing |= ~shown
    # "not applicable" as the export writes it (code 9), or as an empty cell (the default, which
    # the tests and benchmarks built on these data expect)
    na_cells = (not_applicable & shown) if not_applicable_as_code else None
    del not_applicable, shown

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
    for j, item in enumerate(scale_codes):
        values, absent = answers[j].astype(np.int64), missing[j]
        if na_cells is not None:
            values = np.where(na_cells[j], NOT_APPLICABLE_CODE, values)
            absent = absent & ~na_cells[j]
        columns[item] = pd.arrays.IntegerArray(values, absent)
    for code, (answer, absent) in attention.items():
        columns[code] = pd.arrays.IntegerArray(answer.astype(np.int64), absent)
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
        columns["true_attention_fail"] = attn_failed
    return pd.DataFrame(columns, copy=False)


def _practice_mean(code: str) -> float:
    """A practice item's mean in the first trend year; an item without its own figure gets the
    mean of its norm's other practice items."""
    if code in _PRACTICE_MEAN:
        return _PRACTICE_MEAN[code]
    same_norm = [m for c, m in _PRACTICE_MEAN.items() if c[:3] == code[:3]]
    return float(np.mean(same_norm)) if same_norm else 3.0


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


# PSU ids of file i of a partitioned data set start at i * this (a file has fewer PSUs)
PSU_ID_STRIDE = 1_000_000


def write_partitioned(out_dir, rows_per_wave: int, waves: Sequence[int] = (2026,),
                      seed: int = 0, rows_per_file: int = 1_000_000, *, items: str = "core",
                      not_applicable_as_code: bool = False) -> list[Path]:
    """Write a large synthetic data set as Parquet files of at most ``rows_per_file`` rows,
    one chunk at a time (memory is that of one chunk whatever the total), for the Dask engine.

    File ``wave-YEAR-part-NNNN.parquet`` holds an independent sample of its share of the wave
    (:func:`make_responses` with a seed derived from ``seed``, the wave and the file), so a
    wave's files together are one stratified sample: the strata are shared, each file's PSUs
    are its own (ids ``i * PSU_ID_STRIDE + psu`` in file ``i``), and base weights are divided
    by the number of files so that a wave's weights still sum to the adult population.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows_per_wave, rows_per_file = int(rows_per_wave), int(rows_per_file)
    if rows_per_wave < 1 or rows_per_file < 1:
        raise ValueError("rows_per_wave and rows_per_file must be at least 1")
    n_files = -(-rows_per_wave // rows_per_file)
    if n_files * PSU_ID_STRIDE >= 2**62:
        raise ValueError("too many files")
    written = []
    for year in waves:
        for i in range(n_files):
            rows = min(rows_per_file, rows_per_wave - i * rows_per_file)
            chunk_seed = int(np.random.SeedSequence([seed, int(year), i]).generate_state(1)[0])
            frame = make_responses(rows, waves=[year], seed=chunk_seed, items=items,
                                   not_applicable_as_code=not_applicable_as_code)
            frame["psu"] = frame["psu"] + i * PSU_ID_STRIDE
            frame["base_weight"] = frame["base_weight"] / n_files
            path = out_dir / f"wave-{year}-part-{i:04d}.parquet"
            frame.to_parquet(path, index=False)
            written.append(path)
            del frame
    return written


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
    parser.add_argument("--items", choices=ITEM_SETS, default="wave",
                        help="'wave' (default): the items each wave's definition asks; 'core': "
                             "the 30 core items N01_A1..N10_P2 and ATTN1 in every wave")
    parser.add_argument("--not-applicable", choices=("code", "empty"), default="code",
                        help="'code' (default): 'not applicable' as code 9, as the export writes "
                             "it; 'empty': as an empty cell (exports before code 9)")
    parser.add_argument("--out", required=True, type=Path,
                        help="FILE.csv or FILE.parquet, or a folder with --rows-per-file")
    parser.add_argument("--rows-per-file", type=int, metavar="N",
                        help="write a folder of Parquet files of at most N rows each, one at a "
                             "time in bounded memory (for the Dask engine)")
    args = parser.parse_args(argv)
    if args.rows_per_file is not None:
        if args.rows_per_file < 1 or args.rows_per_wave < 1:
            print("python -m analysis.synthetic: error: --rows-per-file and --rows-per-wave "
                  "must be at least 1", file=sys.stderr)
            return 2
        files = write_partitioned(args.out, args.rows_per_wave, waves=args.waves,
                                  seed=args.seed, rows_per_file=args.rows_per_file,
                                  items=args.items,
                                  not_applicable_as_code=args.not_applicable == "code")
        print(f"wrote {args.rows_per_wave * len(args.waves):,} responses in {len(files)} "
              f"Parquet files to {args.out}", file=sys.stderr)
        return 0

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
                           design=not args.no_design, items=args.items,
                           not_applicable_as_code=args.not_applicable == "code")
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
