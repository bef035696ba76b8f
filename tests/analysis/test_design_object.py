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


def _margins(df):
    from analysis.margins import Margins

    table = pd.DataFrame({"variable": "region", "category": ["east", "west"],
                          "target": [0.5, 0.5]})
    return Margins(table)


def test_a_design_cannot_be_changed_after_it_is_built():
    design = SurveyDesign(_answers(), weights="w", strata="stratum", psu="psu")
    for name in ("weights", "weighting", "calibration_steps", "data", "anything"):
        with pytest.raises(AttributeError, match="replace"):
            setattr(design, name, None)
    with pytest.raises(AttributeError):
        del design.weights
    with pytest.raises(ValueError):
        design.weights[0] = 3.0
    with pytest.raises(ValueError):
        design.item_column("float_item")[0] = 3.0


def test_weighting_returns_new_designs_and_leaves_the_old_one_alone():
    design = SurveyDesign(_answers(), weights="w", strata="stratum", psu="psu")
    before = design.weights.copy()
    raked = design.rake(_margins(design.data))
    trimmed = raked.trim(upper=float(np.quantile(raked.weights, 0.9)))
    assert np.array_equal(design.weights, before)
    assert design.weighting is None and design.calibration_steps == ()
    assert design.calibration_targets is None
    assert raked.weighting.method == "rake" and len(raked.calibration_steps) == 1
    assert raked.calibration_targets.variables == ("region",)
    assert trimmed.weighting.method == "trim" and len(trimmed.calibration_steps) == 1
    assert trimmed.calibration_targets is raked.calibration_targets
    assert np.array_equal(raked.base_weights, before)


def test_replace_changes_only_what_it_is_given():
    design = SurveyDesign(_answers(), weights="w", strata="stratum", psu="psu")
    doubled = design.replace(weights=design.weights * 2)
    assert np.array_equal(doubled.weights, design.weights * 2)
    assert doubled.structure is design.structure and doubled.data is design.data
    mean, se = design.mean(["float_item"]).coef[0], design.mean(["float_item"]).se[0]
    assert doubled.mean(["float_item"]).coef[0] == pytest.approx(mean, rel=1e-14)
    assert doubled.mean(["float_item"]).se[0] == pytest.approx(se, rel=1e-12)
    # a sampling field builds the design anew, as the constructor would
    unstratified = design.replace(strata_column=None)
    rebuilt = SurveyDesign(design.data, weights="w", psu="psu")
    assert unstratified.structure.n_strata == 1
    assert np.array_equal(unstratified.mean(["float_item"]).se, rebuilt.mean(["float_item"]).se)
    with pytest.raises(TypeError, match="no field"):
        design.replace(weight=None)
    with pytest.raises(ValueError, match="rows"):
        design.replace(weights=np.ones(3))


def test_derived_designs_share_the_validated_columns():
    design = SurveyDesign(_answers(), weights="w", strata="stratum", psu="psu")
    column = design.item_column("float_item")
    assert design.rake(_margins(design.data)).item_column("float_item") is column
    assert design.replace(weights=design.weights).item_column("float_item") is column
    assert design.cached("answer", lambda: 42) == 42
    assert design.replace(weighting=None).cached("answer", lambda: 0) == 42
