"""Bad input gives one line naming the file, column, value and row, never a wrong number."""

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, check_answer_codes, check_wave_column

SCALE = {"N01_A1": [1, 2, 3, 4, 5, 9], "N01_P1": [1, 2, 3, 4, 5, 9]}


def err(fn, *args, **kwargs) -> str:
    with pytest.raises(AnalysisInputError) as exc:
        fn(*args, **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


# -- wave column -------------------------------------------------------------------------------

def test_wave_column_as_int64_years():
    for column in ([2024, 2025], [2024.0, 2025.0], ["2024", "2025"],
                   pd.array([2024, 2025], dtype="Int64")):
        years = check_wave_column(pd.DataFrame({"wave": column}), "responses.csv")
        assert years.dtype == np.int64 and years.tolist() == [2024, 2025]


@pytest.mark.parametrize(("value", "shown"), [
    (2025.5, "value 2025.5 "), ("abc", "value 'abc' "), (1e308, "value 1e+308 "),
    (np.inf, "value inf "), (-2025, "value -2025 "),
])
def test_wave_not_a_year(value, shown):
    frame = pd.DataFrame({"wave": pd.Series([2024, 2025, value, 2024], dtype=object)})
    msg = err(check_wave_column, frame, "responses.csv")
    assert msg.startswith("responses.csv: column 'wave', row 3: " + shown)
    assert "is not a wave year" in msg


@pytest.mark.parametrize("value", [np.nan, None, "", "  "])
def test_wave_missing(value):
    frame = pd.DataFrame({"wave": pd.Series([2024, value], dtype=object)})
    msg = err(check_wave_column, frame, "r.csv")
    assert msg == "r.csv: column 'wave', row 2: missing wave year"


def test_wave_column_absent_and_row_after_split():
    assert err(check_wave_column, pd.DataFrame({"x": [1]}), "r.csv") == "r.csv: no column 'wave'"
    frame = pd.DataFrame({"wave": [2024.0, 2025.0, 2025.5]}).iloc[1:]
    assert "row 3:" in err(check_wave_column, frame, "r.csv")  # the file's row, not the part's


# -- answer codes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    (77, "77"), (-99, "-99"), (1e308, "1e+308"), (2.5, "2.5"), ("abc", "'abc'"), (0, "0"),
])
def test_answer_code_out_of_range(value, shown):
    col = [1, 2, None, 5] * 5
    col[16] = value
    frame = pd.DataFrame({"N01_A1": pd.Series(col, dtype=object), "N01_P1": 1})
    assert err(check_answer_codes, frame, SCALE, "responses.csv") == (
        f"responses.csv: column 'N01_A1', row 17: value {shown} is not an answer code of this "
        "item (1-5, 9)")


@pytest.mark.parametrize("dtype", ["float64", "Int64", "int64"])
def test_answer_codes_in_every_dtype(dtype):
    good = pd.DataFrame({"N01_A1": [1, 2, 9, 5], "N01_P1": [3, 3, 3, 3]}).astype(dtype)
    if dtype != "int64":
        good.loc[1, "N01_A1"] = None
    out, counts = check_answer_codes(good, SCALE, "r.csv")
    assert out is good and counts == {}
    bad = good.copy()
    bad.loc[3, "N01_P1"] = 77
    assert "column 'N01_P1', row 4: value 77 " in err(check_answer_codes, bad, SCALE, "r.csv")


def test_recode_invalid_sets_missing_and_counts():
    frame = pd.DataFrame({
        "N01_A1": [1.0, 77.0, np.nan, 2.5, 9.0],
        "N01_P1": pd.array([1, -99, 3, 4, 1000], dtype="Int64"),
        "sex": ["m", "f", "m", "f", "m"],
    })
    out, counts = check_answer_codes(frame, SCALE, "r.csv", recode_invalid=True)
    assert counts == {"N01_A1": 2, "N01_P1": 2}
    assert out["N01_A1"].isna().tolist() == [False, True, True, True, False]
    assert out["N01_P1"].tolist()[0] == 1 and out["N01_P1"].isna().sum() == 2
    assert str(out["N01_P1"].dtype) == "Int64"
    assert frame.loc[1, "N01_A1"] == 77.0  # the caller's frame is not changed
    # a mean over the recoded column no longer includes 77
    assert out["N01_A1"].mean() == pytest.approx(5.0)


def test_text_codes_and_unlisted_columns():
    frame = pd.DataFrame({"N01_A1": ["1", "2", " ", None], "other": [77, 77, 77, 77]})
    out, counts = check_answer_codes(frame, {**SCALE, "N02_A1": [1, 2]}, "r.csv")
    assert counts == {} and out is frame


def test_long_text_value_is_bounded():
    frame = pd.DataFrame({"N01_A1": ["x" * 10_000]})
    assert "…" in err(check_answer_codes, frame, SCALE, "r.csv")
