"""Synthetic responses: export schema, determinism, value ranges and the planted properties."""

import numpy as np
import pandas as pd
import pytest

from analysis import synthetic
from analysis.synthetic import ITEM_COLUMNS, PROVINCES, make_responses

DEMOGRAPHICS = ["sex", "age_group", "province", "region", "urban_rural", "education"]


@pytest.fixture(scope="module")
def frame():
    return make_responses(6000, waves=(2024, 2025, 2026), seed=11, include_truth=True)


def scores(frame, item):
    """Unweighted mean score on 0-100 per wave."""
    return ((frame[item].astype(float) - 1) * 25).groupby(frame["wave"]).mean()


def test_schema_and_types(frame):
    expected = (
        ["response_id", "wave", *DEMOGRAPHICS, *ITEM_COLUMNS, "ATTN1",
         "started_at", "submitted_at", "duration_s", "stratum", "psu", "base_weight"]
        + list(synthetic.TRUTH_COLUMNS)
    )
    assert list(frame.columns) == expected
    assert len(ITEM_COLUMNS) == 30 and ITEM_COLUMNS[:3] == ("N01_A1", "N01_P1", "N01_P2")
    assert ITEM_COLUMNS[-1] == "N10_P2"
    assert len(frame) == 18000
    for item in [*ITEM_COLUMNS, "ATTN1"]:
        assert frame[item].dtype == "Int64", item
    for col in ["response_id", *DEMOGRAPHICS, "stratum"]:
        assert pd.api.types.is_string_dtype(frame[col]), col
    assert frame["wave"].dtype == np.int64 and frame["psu"].dtype == np.int64
    assert str(frame["started_at"].dt.tz) == "UTC"
    assert frame["response_id"].is_unique
    assert frame["response_id"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_without_design_columns():
    plain = make_responses(50, waves=[2025], seed=1, design=False)
    assert not {"stratum", "psu", "base_weight", *synthetic.TRUTH_COLUMNS} & set(plain.columns)
    assert (plain["wave"] == 2025).all()


def test_deterministic_for_a_seed():
    a = make_responses(500, seed=5)
    b = make_responses(500, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = make_responses(500, seed=6)
    assert not a["N01_P1"].equals(c["N01_P1"])


def test_categories_match_the_contract(frame):
    assert set(frame["sex"]) == {"male", "female"}
    assert set(frame["age_group"]) == {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
    assert set(frame["urban_rural"]) == {"urban", "rural"}
    assert set(frame["education"]) == {
        "below_primary", "primary", "junior_secondary", "senior_secondary", "university"}
    region_of = {code: region for code, region, _ in PROVINCES}
    assert len(region_of) == 31
    assert (frame["province"].map(region_of) == frame["region"]).all()
    assert frame["stratum"].nunique() == 8
    assert (frame["stratum"] == frame["region"] + "_" + frame["urban_rural"]).all()


def test_answer_ranges_and_missingness(frame):
    items = frame[list(ITEM_COLUMNS)]
    assert items.min().min() == 1 and items.max().max() == 5
    missing = items.isna().mean()
    assert missing.between(0.01, 0.12).all()
    # practice items with "not applicable" have clearly more missing answers
    assert missing["N04_P2"] > missing["N04_P1"] + 0.03
    assert frame["ATTN1"].dropna().between(1, 5).all()


def test_online_sample_skew_against_the_census(frame):
    # census 2020 (adults): urban ~64%, university ~19%, 65+ ~17%
    assert (frame["urban_rural"] == "urban").mean() > 0.72
    assert (frame["education"] == "university").mean() > 0.3
    assert (frame["age_group"] == "65+").mean() < 0.08


def test_design_psus_nested_in_strata_and_weights(frame):
    for _, wave in frame.groupby("wave"):
        per_psu = wave.groupby("psu")
        assert (per_psu["stratum"].nunique() == 1).all()
        assert 15 <= per_psu.size().mean() <= 25
        assert (wave.groupby("stratum")["psu"].nunique() >= 2).all()
        assert wave["base_weight"].sum() == pytest.approx(synthetic.ADULT_POPULATION, rel=1e-9)
    # ids are per wave, so they repeat across waves
    assert frame.loc[frame.wave == 2024, "psu"].min() == frame.loc[frame.wave == 2025, "psu"].min()
    w = frame["base_weight"]
    assert w.min() > 0 and w.max() / w.min() > 3
    # rural strata were under-sampled, so their weights are larger
    assert w[frame.urban_rural == "rural"].mean() > w[frame.urban_rural == "urban"].mean()


def test_knowledge_action_gap_and_trends(frame):
    for norm in ("N01", "N04", "N08"):
        assert scores(frame, f"{norm}_A1").mean() > scores(frame, f"{norm}_P1").mean() + 8
    n04 = scores(frame, "N04_P1")
    assert 2.5 < (n04[2026] - n04[2024]) / 2 < 5.5  # ~ +4 points/year
    n01 = scores(frame, "N01_P1")
    assert abs(n01[2026] - n01[2024]) < 2.0


def test_answers_depend_on_demographics_and_cluster_in_psus(frame):
    wave = frame[frame.wave == 2024]
    aware = wave["N01_A1"].astype(float)
    assert aware[wave.education == "university"].mean() > aware[wave.education == "primary"].mean()
    # intra-PSU correlation: PSU means vary much more than under independence (deff > 1)
    y = wave["N02_P1"].astype(float)
    ok = y.notna()
    psu_means = y[ok].groupby(wave.loc[ok, "psu"]).agg(["mean", "size"])
    deff = psu_means["mean"].var() * psu_means["size"].mean() / y.var()
    assert deff > 1.4


def test_quality_problems_are_planted(frame):
    speeder = frame["true_speeder"]
    straight = frame["true_straightliner"]
    assert 0.02 < speeder.mean() < 0.04
    assert 0.01 < straight.mean() < 0.03
    assert 0.02 < (frame["ATTN1"] != 4).mean() < 0.045
    assert frame.loc[speeder, "duration_s"].max() < frame["duration_s"].median() / 3
    page = frame.loc[straight, ["N03_A1", "N03_P1", "N03_P2"]]
    assert (page.nunique(axis=1) == 1).all()
    fails = frame["true_attention_fail"]
    assert ((frame.loc[fails, "ATTN1"] != 4) & frame.loc[fails, "ATTN1"].notna()).all()
    duration = (frame["submitted_at"] - frame["started_at"]).dt.total_seconds()
    np.testing.assert_allclose(duration, frame["duration_s"], atol=1e-6)
    assert (frame["started_at"].dt.year == frame["wave"]).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="rows_per_wave"):
        make_responses(0)
    with pytest.raises(ValueError, match="repeat"):
        make_responses(10, waves=(2024, 2024))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_command_line_writes_the_file(tmp_path, suffix):
    out = tmp_path / f"data{suffix}"
    status = synthetic.main(["--waves", "2024,2025", "--rows-per-wave", "40", "--seed", "1",
                             "--out", str(out)])
    assert status == 0
    back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert len(back) == 80 and set(back["wave"]) == {2024, 2025}
    assert "N05_P2" in back.columns and "psu" in back.columns
    if suffix == ".csv":
        assert back["started_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z").all()
        assert back["province"].astype(str).str.fullmatch(r"\d{6}").all()


def test_command_line_rejects_a_bad_extension(tmp_path, capsys):
    assert synthetic.main(["--out", str(tmp_path / "data.xlsx")]) == 2
    assert "--out must end in .csv or .parquet" in capsys.readouterr().err
