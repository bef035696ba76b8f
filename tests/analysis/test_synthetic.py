"""Synthetic responses: export schema, determinism, value ranges and the planted properties."""

import numpy as np
import pandas as pd
import pytest

from analysis import synthetic
from analysis.quality import flag_quality
from analysis.synthetic import ITEM_COLUMNS, PROVINCES, make_responses, wave_items
from questionnaires import NOT_APPLICABLE_CODE, load_wave

DEMOGRAPHICS = ["sex", "age_group", "province", "region", "urban_rural", "education"]
WAVES = (2024, 2025, 2026)
# the scale items the shipped wave definitions ask beyond the 30 core items
EXTRA_ITEMS = ["N02_P3", "N02_P4", "N03_P3", "N04_P3", "N04_P4", "N05_P3", "N06_P3", "N07_P3"]


@pytest.fixture(scope="module")
def frame():
    return make_responses(6000, waves=WAVES, seed=11, include_truth=True)


def scores(frame, item):
    """Unweighted mean score on 0-100 per wave."""
    return ((frame[item].astype(float) - 1) * 25).groupby(frame["wave"]).mean()


def scale_items(wave):
    return [i.code for p in wave.pages for i in p.items if i.kind in ("awareness", "practice")]


def test_schema_and_types(frame):
    scale = sorted([*ITEM_COLUMNS, *EXTRA_ITEMS])
    expected = (
        ["response_id", "wave", *DEMOGRAPHICS, *scale, "ATTN1",
         "started_at", "submitted_at", "duration_s", "stratum", "psu", "base_weight"]
        + list(synthetic.TRUTH_COLUMNS)
    )
    assert list(frame.columns) == expected
    assert len(ITEM_COLUMNS) == 30 and ITEM_COLUMNS[:3] == ("N01_A1", "N01_P1", "N01_P2")
    assert ITEM_COLUMNS[-1] == "N10_P2"
    assert len(frame) == 18000
    for item in [*scale, "ATTN1"]:
        assert frame[item].dtype == "Int64", item
    for col in ["response_id", *DEMOGRAPHICS, "stratum"]:
        assert pd.api.types.is_string_dtype(frame[col]), col
    assert frame["wave"].dtype == np.int64 and frame["psu"].dtype == np.int64
    assert str(frame["started_at"].dt.tz) == "UTC"
    assert frame["response_id"].is_unique
    assert frame["response_id"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_each_wave_asks_the_items_of_its_definition(frame):
    for year in WAVES:
        wave = load_wave(year)
        rows = frame[frame.wave == year]
        asked = scale_items(wave)
        assert [i.code for i in wave_items(year)] == [
            i.code for p in wave.pages for i in p.items if i.kind != "demographic"]
        answered = [c for c in frame.columns
                    if (c[:1] == "N" or c == "ATTN1") and rows[c].notna().any()]
        assert sorted(answered) == sorted([*asked, "ATTN1"]), year
        assert set(EXTRA_ITEMS) <= set(asked)


def test_an_item_a_wave_does_not_ask_is_empty_for_that_wave():
    # a year without a definition gets the 30 core items; 2025 asks the extra items
    mixed = make_responses(300, waves=(1999, 2025), seed=2)
    assert [i.code for i in wave_items(1999)] == [*ITEM_COLUMNS, "ATTN1"]
    old, new = mixed[mixed.wave == 1999], mixed[mixed.wave == 2025]
    for item in EXTRA_ITEMS:
        assert old[item].isna().all() and new[item].notna().sum() > 200, item
    for item in [*ITEM_COLUMNS, "ATTN1"]:
        assert old[item].notna().mean() > 0.85, item
    only_old = make_responses(50, waves=(1999,), seed=2)
    assert [c for c in only_old.columns if c[:1] == "N"] == list(ITEM_COLUMNS)


def test_core_items_option():
    core = make_responses(400, waves=WAVES, seed=3, items="core")
    items = [c for c in core.columns if c[:1] == "N" or c == "ATTN1"]
    assert items == [*ITEM_COLUMNS, "ATTN1"]
    assert core[items].notna().mean().gt(0.85).all()
    assert [i.code for i in wave_items(2025, "core")] == [*ITEM_COLUMNS, "ATTN1"]
    with pytest.raises(ValueError, match="items must be one of 'wave', 'core'"):
        make_responses(10, items="all")


def test_conditional_item_follows_its_condition(frame):
    condition = load_wave(2025).items["N04_P4"].condition
    assert condition is not None and condition.item == "N04_P3"
    p3, p4 = frame["N04_P3"], frame["N04_P4"]
    # N04_P3 not applicable ("never travel by car") or unanswered: N04_P4 never shown
    assert p4[p3.isna()].isna().all()
    assert p3.isna().sum() > 0.1 * len(frame)
    # N04_P3 answered 1..5: N04_P4 shown and answered but for item nonresponse
    assert p4[p3.notna()].notna().mean() > 0.95
    assert p3.dropna().isin([1, 2, 3, 4, 5]).all()


def test_not_applicable_only_where_the_definition_offers_it(frame):
    for year in WAVES:
        wave = load_wave(year)
        rows = frame[frame.wave == year]
        for code in scale_items(wave):
            item = wave.items[code]
            missing = rows[code].isna().mean()
            if item.condition is not None:
                continue
            if item.not_applicable is None:
                # item nonresponse only (about 2%)
                assert missing < 0.04, (year, code)
            elif synthetic.NOT_APPLICABLE_RATE.get(code, 0) >= 0.04:
                assert missing > 0.045, (year, code)
    for code in synthetic.NOT_APPLICABLE_RATE:
        assert load_wave(2025).items[code].not_applicable is not None, code
    # never the code 9 itself: "not applicable" is exported as empty
    items = frame[[c for c in frame.columns if c[:1] == "N"]]
    assert not (items == NOT_APPLICABLE_CODE).any().any()


def test_wording_version_shifts_the_answers(frame):
    # N02_P3: version 1 (2018 thresholds, stricter) in 2024, version 2 from 2025; N02 is flat
    assert load_wave(2024).items["N02_P3"].wording_version == 1
    assert load_wave(2025).items["N02_P3"].wording_version == 2
    n02_p3, n02_p1 = scores(frame, "N02_P3"), scores(frame, "N02_P1")
    assert n02_p3[2025] - n02_p3[2024] > 4
    assert abs(n02_p3[2026] - n02_p3[2025]) < 1.5
    assert abs(n02_p1[2025] - n02_p1[2024]) < 1.5


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
    items = frame[[*ITEM_COLUMNS, *EXTRA_ITEMS]]
    assert (items.min() == 1).all() and (items.max() == 5).all()
    missing = items.isna().mean()
    # ~2% item nonresponse, more where "not applicable" is offered; N04_P3 is "not applicable"
    # for people who never travel by car (~15%), and N04_P4 is only shown to the others
    assert missing.drop(["N04_P3", "N04_P4"]).between(0.01, 0.13).all()
    assert missing[["N04_P3", "N04_P4"]].between(0.1, 0.3).all()
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
    for item in ("N04_P1", "N04_P3", "N04_P4"):  # the planted trend holds for the new items
        n04 = scores(frame, item)
        assert 2.5 < (n04[2026] - n04[2024]) / 2 < 5.5, item  # ~ +4 points/year
    n05 = scores(frame, "N05_P3")
    assert 1.5 < (n05[2026] - n05[2024]) / 2 < 4.5  # ~ +3 points/year
    for item in ("N01_P1", "N06_P3", "N07_P3"):
        flat = scores(frame, item)
        assert abs(flat[2026] - flat[2024]) < 2.0, item


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
    # one answer to every item of every grid page, the wave's new items included
    for year in WAVES:
        rows = frame[(frame.wave == year) & straight]
        for page in load_wave(year).pages:
            codes = [i.code for i in page.items if i.kind in ("awareness", "practice")]
            if page.grid:
                assert rows[codes].notna().all().all(), (year, page.key)
                assert (rows[codes].nunique(axis=1) == 1).all(), (year, page.key)
        answers = rows[scale_items(load_wave(year))]
        assert (answers.nunique(axis=1) == 1).all()
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


def test_quality_flags_recover_the_planted_problems_on_every_page(frame):
    for year in WAVES:
        rows = frame[frame.wave == year]
        flags = flag_quality(rows, load_wave(year))
        straight = rows["true_straightliner"].to_numpy()
        flagged = flags["flag_straightliner"].to_numpy().astype(bool)
        assert flagged[straight].all()
        assert flagged[~straight].sum() <= 2
        attention = flags["flag_attention"].to_numpy().astype(bool)
        assert (attention == rows["true_attention_fail"].to_numpy()).all()


def test_command_line_items_option(tmp_path):
    out = tmp_path / "core.csv"
    assert synthetic.main(["--waves", "2024,2025", "--rows-per-wave", "20", "--items", "core",
                           "--out", str(out)]) == 0
    back = pd.read_csv(out)
    assert [c for c in back.columns if c[:1] == "N"] == list(ITEM_COLUMNS)
    out = tmp_path / "wave.csv"
    assert synthetic.main(["--waves", "2024,2025", "--rows-per-wave", "20", "--out",
                           str(out)]) == 0
    assert set(EXTRA_ITEMS) <= set(pd.read_csv(out).columns)


def test_not_applicable_as_code_9_keeps_every_other_cell():
    plain = make_responses(800, waves=(2026,), seed=4)
    coded = make_responses(800, waves=(2026,), seed=4, not_applicable_as_code=True)
    from questionnaires import load_wave

    offers = [c for c, i in load_wave(2026).items.items() if i.not_applicable is not None]
    nines = (coded[offers] == 9).sum().sum()
    assert nines > 0
    for code in coded.columns:
        is_nine = coded[code] == 9 if code in offers else False
        if code in offers:
            # a 9 stands exactly where the default leaves "not applicable" empty
            assert plain[code][is_nine.fillna(False)].isna().all()
            kept = ~is_nine.fillna(False)
            pd.testing.assert_series_equal(coded[code][kept], plain[code][kept])
        else:
            pd.testing.assert_series_equal(coded[code], plain[code])
