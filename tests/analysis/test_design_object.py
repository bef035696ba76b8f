"""The design object: nullable columns read through pandas' public API, and an immutable value."""

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign


def _answers(n=400, seed=3):
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 6, n).astype(float)
    values[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame({
        "w": rng.uniform(0.5, 2.0, n),
        "stratum": rng.integers(0, 4, n),
        "psu": rng.integers(0, 10, n),
        "float_item": values,
        "region": rng.choice(["east", "west"], n),
    })


@pytest.mark.parametrize("dtype", ["Int64", "Int8", "int64[pyarrow]"])
def test_nullable_integer_items_give_the_numbers_of_float_items(dtype):
    df = _answers()
    df["int_item"] = df["float_item"].astype(dtype)
    design = SurveyDesign(df, weights="w", strata="stratum", psu="psu")
    as_float = design.mean(["float_item"], by="region").to_frame()
    as_int = design.mean(["int_item"], by="region").to_frame()
    pd.testing.assert_frame_equal(as_float.drop(columns="item"), as_int.drop(columns="item"),
                                  check_exact=True)


def test_reading_a_nullable_column_leaves_the_data_alone():
    df = _answers()
    df["int_item"] = df["float_item"].astype("Int64")
    before = df["int_item"].copy()
    values, missing = SurveyDesign(df, weights="w").item_values("int_item")
    assert not values.flags.writeable
    assert np.array_equal(missing, np.flatnonzero(before.isna().to_numpy()))
    pd.testing.assert_series_equal(df["int_item"], before)
