"""The Dask engine gives the in-memory engine's numbers on data split over Parquet files.

The data are one synthetic sample split into files by province (as an export per province
would be), with one PSU whose rows lie in two files: the engine adds such a PSU's partial
totals before squaring them, so a PSU may span files. Most tests run Dask's synchronous
scheduler (the arithmetic is the point); one runs a two-process LocalCluster, which the command
line tests reuse through --scheduler.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, read_margins
from analysis.cli import main
from analysis.data import CENSUS_2020_ADULT_MARGINS
from analysis.io import read_responses
from analysis.regression import degf
from analysis.synthetic import make_responses, write_partitioned

dask = pytest.importorskip("dask", reason="Dask (dask[dataframe,distributed]) is not installed")
distributed = pytest.importorskip("dask.distributed",
                                  reason="Dask (dask[distributed]) is not installed")

from analysis.dask_engine import estimate_partitioned, parquet_files  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ["N01_A1", "N01_P1", "N04_P2", "N09_P1"]
NUMBERS = ["estimate", "se", "ci_low", "ci_high", "n", "deff"]
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Two waves in four files, each holding a quarter of the provinces; PSU 1 of wave 2025's
    first stratum has rows in two files."""
    out = tmp_path_factory.mktemp("partitioned")
    data = make_responses(2500, waves=[2025, 2026], seed=11, items="core")
    provinces = sorted(data["province"].unique())
    files = [data[data["province"].isin(provinces[i::4])].copy() for i in range(4)]
    first = files[0]
    stratum = first["stratum"].iloc[0]
    psu = first.loc[first["stratum"] == stratum, "psu"].iloc[0]
    moved = files[1].index[(files[1]["wave"] == 2025) & (files[1]["stratum"] == stratum)][:7]
    files[1].loc[moved, "psu"] = psu
    # an fpc: ten times the sampled PSUs of the stratum
    whole = pd.concat(files)
    n_psu = whole.groupby(["wave", "stratum"])["psu"].nunique()
    for i, f in enumerate(files):
        f["fpc"] = 10.0 * n_psu.loc[list(zip(f["wave"], f["stratum"], strict=True))].to_numpy()
        f.reset_index(drop=True).to_parquet(out / f"part-{i}.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def whole(folder) -> pd.DataFrame:
    return pd.concat([read_responses(f) for f in parquet_files(folder)], ignore_index=True)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each (what the command line starts on a 2-core
    machine), shared by the tests that go through the distributed scheduler."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def assert_same(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(ref.columns) == list(got.columns)
    labels = ["item", "by", "group"]
    assert (ref[labels].to_numpy() == got[labels].to_numpy()).all()
    a, b = ref[NUMBERS].to_numpy(float), got[NUMBERS].to_numpy(float)
    ok = np.isfinite(a)
    assert (a[~ok] == b[~ok]).sum() + np.isnan(b[~ok]).sum() == (~ok).sum()  # nan, inf alike
    assert (np.isnan(a) == np.isnan(b)).all()
    rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300)
    assert rel.max() <= TOLERANCE, rel.max()


DESIGNS = {
    "stratified clusters": {"weights": "base_weight", "strata": "stratum", "psu": "psu"},
    "clusters with fpc": {"weights": "base_weight", "strata": "stratum", "psu": "psu",
                          "fpc": "fpc"},
    "rows as PSUs": {"weights": "base_weight", "strata": "stratum"},
    "unweighted clusters": {"psu": "psu"},
}


@pytest.mark.parametrize("raked", [False, True], ids=["weights", "raked"])
@pytest.mark.parametrize("name", list(DESIGNS))
def test_means_by_region_equal_the_in_memory_engine(folder, whole, name, raked):
    spec = DESIGNS[name]
    margins = read_margins(CENSUS_2020_ADULT_MARGINS) if raked else None
    for wave in (2025, 2026):
        design = SurveyDesign(whole[whole["wave"] == wave].reset_index(drop=True), **spec)
        if raked:
            design = design.rake(margins)
        ref = design.mean(ITEMS, by=["region", "sex"]).table
        got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                                   by=["region", "sex"], wave=wave, **spec).estimate.table
        assert_same(ref, got)


@pytest.mark.parametrize("statistic, options", [
    ("total", {}),
    ("proportion", {"levels": [4, 5]}),
    ("mean", {"na_rm": False, "deff": "replace"}),
    ("mean", {"lonely_psu": "adjust"}),
])
def test_totals_proportions_and_options_equal_the_in_memory_engine(folder, whole, statistic,
                                                                   options):
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    data = whole[whole["wave"] == 2026].reset_index(drop=True)
    design = SurveyDesign(data, weights="base_weight", strata="stratum", psu="psu",
                          lonely_psu=options.get("lonely_psu", "fail")).rake(margins)
    kwargs = {k: v for k, v in options.items() if k != "lonely_psu"}
    ref = getattr(design, statistic)(ITEMS, by="region", **kwargs).table
    got = estimate_partitioned(parquet_files(folder), ITEMS, statistic, weights="base_weight",
                               strata="stratum", psu="psu", margins=margins, by="region",
                               wave=2026, **options).estimate.table
    assert_same(ref, got)


def test_rake_variance_and_weighting_report_equal_the_in_memory_engine(folder, whole):
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    data = whole[whole["wave"] == 2025].reset_index(drop=True)
    design = SurveyDesign(data, weights="base_weight", strata="stratum", psu="psu").rake(
        margins, variance="rake")
    result = estimate_partitioned(parquet_files(folder), ITEMS, "mean", weights="base_weight",
                                  strata="stratum", psu="psu", margins=margins,
                                  rake_variance="rake", by="region", wave=2025)
    assert_same(design.mean(ITEMS, by="region").table, result.estimate.table)
    assert result.weighting.iterations == design.weighting.iterations
    assert result.weighting.weight_sum == pytest.approx(design.weighting.weight_sum, rel=1e-12)
    ref = design.weight_diagnostics
    assert result.diagnostics.kish_deff == pytest.approx(ref.kish_deff, rel=1e-12)
    assert result.diagnostics.weight_max == pytest.approx(ref.weight_max, rel=1e-12)


def test_a_two_process_local_cluster_gives_the_same_numbers(folder, whole, cluster):
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    design = SurveyDesign(whole[whole["wave"] == 2026].reset_index(drop=True),
                          weights="base_weight", strata="stratum", psu="psu").rake(margins)
    with distributed.Client(cluster) as client, dask.config.set(scheduler=client):
        got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", weights="base_weight",
                                   strata="stratum", psu="psu", margins=margins, by="region",
                                   wave=2026).estimate.table
    assert_same(design.mean(ITEMS, by="region").table, got)


# (the lower bound of "linear bounded" holds some g-weights in wave 2025; logit converges
# within its bounds in wave 2026 only)
CALIBRATIONS = {
    "linear": {"calfun": "linear"},
    "linear bounded": {"calfun": "linear", "bounds": (0.15, 4.8)},
    "logit": {"calfun": "logit", "bounds": (0.15, 6.0)},
}
CALIBRATED_WAVES = {"linear": (2025, 2026), "linear bounded": (2025, 2026), "logit": (2026,)}


@pytest.mark.parametrize("name", ["stratified clusters", "clusters with fpc", "rows as PSUs"])
@pytest.mark.parametrize("calibration", list(CALIBRATIONS))
def test_calibrations_equal_the_in_memory_engine(folder, whole, calibration, name):
    # GREG and logit (and bounded raking) calibration on the cell table, with its variance
    spec, options = DESIGNS[name], CALIBRATIONS[calibration]
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    for wave in CALIBRATED_WAVES[calibration]:
        design = SurveyDesign(whole[whole["wave"] == wave].reset_index(drop=True), **spec
                              ).calibrate(margins, **options)
        result = estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                                      by=["region", "sex"], wave=wave, **options, **spec)
        assert_same(design.mean(ITEMS, by=["region", "sex"]).table, result.estimate.table)
        ref, got = design.weighting, result.weighting
        assert (got.method, got.calfun, got.bounds, got.iterations) == (
            ref.method, ref.calfun, ref.bounds, ref.iterations)
        assert got.weight_max == pytest.approx(ref.weight_max, rel=1e-12)
        assert result.diagnostics.kish_deff == pytest.approx(
            design.weight_diagnostics.kish_deff, rel=1e-12)


def test_calibrated_totals_proportions_and_covariances_equal_the_in_memory_engine(folder,
                                                                                  whole):
    spec, options = DESIGNS["clusters with fpc"], CALIBRATIONS["logit"]
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    design = SurveyDesign(whole[whole["wave"] == 2026].reset_index(drop=True), **spec
                          ).calibrate(margins, **options)
    for statistic, kwargs in (("total", {}), ("proportion", {"levels": [4, 5]})):
        ref = getattr(design, statistic)(ITEMS, by="region", **kwargs).table
        got = estimate_partitioned(parquet_files(folder), ITEMS, statistic, margins=margins,
                                   by="region", wave=2026, **kwargs, **options, **spec)
        assert_same(ref, got.estimate.table)
    ref = design.mean(ITEMS, by="region", covariance="by")
    got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                               by="region", wave=2026, covariance="by", **options,
                               **spec).estimate
    ok = ~np.isnan(ref.vcov)
    assert (np.isnan(got.vcov) == ~ok).all()
    assert (np.abs(ref.vcov[ok] - got.vcov[ok]) / np.abs(ref.vcov[ok])).max() <= TOLERANCE


def poststrata(data: pd.DataFrame, shares: bool) -> pd.DataFrame:
    """A post-stratification table of sex x age group: targets off the sample's weights by
    up to a third, as counts or as shares."""
    table = data.groupby(["sex", "age_group"])["base_weight"].sum().reset_index(
        name="target")
    table["target"] *= np.linspace(0.7, 1.3, len(table))
    if shares:
        table["target"] /= table["target"].sum()
    return table


@pytest.mark.parametrize("shares", [False, True], ids=["counts", "shares"])
@pytest.mark.parametrize("name", ["stratified clusters", "clusters with fpc", "rows as PSUs"])
def test_poststratification_equals_the_in_memory_engine(folder, whole, name, shares):
    spec = DESIGNS[name]
    data = whole[whole["wave"] == 2025].reset_index(drop=True)
    table = poststrata(data, shares)
    design = SurveyDesign(data, **spec).poststratify(table)
    for statistic, kwargs in (("mean", {"covariance": "by"}), ("total", {})):
        ref = getattr(design, statistic)(ITEMS, by=["region", "sex"], **kwargs)
        result = estimate_partitioned(parquet_files(folder), ITEMS, statistic,
                                      by=["region", "sex"], wave=2025, poststratify=table,
                                      **kwargs, **spec)
        assert_same(ref.table, result.estimate.table)
    assert result.weighting.method == "poststratify"
    assert result.diagnostics.kish_deff == pytest.approx(design.weight_diagnostics.kish_deff,
                                                         rel=1e-12)


def test_poststratified_replicates_equal_the_in_memory_engine(folder, whole):
    from analysis.replicates import ReplicateSpec

    spec = DESIGNS["stratified clusters"]
    data = whole[whole["wave"] == 2026].reset_index(drop=True)
    table = poststrata(data, shares=False)
    design = SurveyDesign(data, **spec).replicate("bootstrap", 12, seed=9).poststratify(table)
    got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", by="region", wave=2026,
                               poststratify=table, replicates=ReplicateSpec(
                                   "bootstrap", count=12, seed=9), **spec)
    assert_same(design.mean(ITEMS, by="region").table, got.estimate.table)


def test_a_bad_poststratification_is_the_in_memory_message(folder, whole):
    data = whole[whole["wave"] == 2026].reset_index(drop=True)
    table = poststrata(data, shares=False)
    table = table[~((table["sex"] == table["sex"].iloc[0])
                    & (table["age_group"] == table["age_group"].iloc[0]))]
    with pytest.raises(Exception) as ref:
        SurveyDesign(data, weights="base_weight").poststratify(table)
    with pytest.raises(Exception) as got:
        estimate_partitioned(parquet_files(folder), ITEMS, "mean", weights="base_weight",
                             wave=2026, poststratify=table)
    assert str(ref.value) in str(got.value)


def test_a_calibration_that_does_not_converge_is_the_in_memory_message(folder, whole):
    from analysis.errors import ConvergenceError

    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    design = SurveyDesign(whole[whole["wave"] == 2026].reset_index(drop=True),
                          weights="base_weight")
    options = {"calfun": "logit", "bounds": (0.3, 3.0)}
    with pytest.raises(ConvergenceError) as ref:
        design.calibrate(margins, **options)
    with pytest.raises(ConvergenceError) as got:
        estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                             weights="base_weight", wave=2026, **options)
    assert str(got.value) == str(ref.value)


def two_psus_per_stratum(data: pd.DataFrame) -> pd.DataFrame:
    """The rows of the first two PSUs to appear in each stratum (a design BRR takes)."""
    first = data.drop_duplicates(["stratum", "psu"]).groupby("stratum", sort=False).head(2)
    return data.merge(first[["stratum", "psu"]], on=["stratum", "psu"])


def split_by_province(data: pd.DataFrame, out: Path, n: int = 3) -> list[pd.DataFrame]:
    """``data`` in ``n`` files of ``out`` by province (a PSU may span files), and the parts."""
    provinces = sorted(data["province"].unique())
    parts = [data[data["province"].isin(provinces[i::n])] for i in range(n)]
    for i, part in enumerate(parts):
        part.to_parquet(out / f"part-{i}.parquet", index=False)
    return parts


REPLICATES = {
    "jkn": ("stratified clusters", {}),
    "jkn with fpc": ("clusters with fpc", {}),
    "jk1": ("unweighted clusters", {}),
    "bootstrap": ("stratified clusters", {"count": 20, "seed": 3}),
    "subbootstrap": ("stratified clusters", {"count": 15, "seed": 8, "mse": True}),
}


@pytest.mark.parametrize("name", list(REPLICATES))
def test_replicate_weights_equal_the_in_memory_engine(folder, whole, name):
    # the builders see the PSUs in the in-memory order of appearance, so even the bootstrap's
    # draws are the in-memory engine's
    from analysis.replicates import ReplicateSpec

    design_name, options = REPLICATES[name]
    spec, method = DESIGNS[design_name], name.split()[0]
    for wave in (2025, 2026):
        design = SurveyDesign(whole[whole["wave"] == wave].reset_index(drop=True), **spec
                              ).replicate(method, options.get("count"), seed=options.get("seed"),
                                          mse=options.get("mse", False))
        result = estimate_partitioned(parquet_files(folder), ITEMS, "mean",
                                      by=["region", "sex"], wave=wave,
                                      replicates=ReplicateSpec(method=method, **options),
                                      **spec)
        ref = design.mean(ITEMS, by=["region", "sex"])
        assert_same(ref.table, result.estimate.table)
        assert result.estimate.df == ref.df
        assert result.estimate.interval_note == ref.interval_note


@pytest.mark.parametrize("method, calibration", [
    ("jkn", {"calfun": "raking"}),
    ("bootstrap", {"calfun": "linear"}),
    ("brr", {"calfun": "linear"}),
])
def test_calibrated_replicates_equal_the_in_memory_engine(whole, tmp_path, method,
                                                          calibration):
    # every replicate calibrated on its own to the margins (R's calibrate() of a replicate
    # design); two PSUs per stratum for brr
    from analysis.replicates import ReplicateSpec

    data = whole[whole["wave"] == 2026]
    parts = split_by_province(two_psus_per_stratum(data) if method == "brr" else data, tmp_path)
    spec = DESIGNS["stratified clusters"]
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    options = {"count": 10, "seed": 5} if method == "bootstrap" else {}
    design = SurveyDesign(pd.concat(parts, ignore_index=True), **spec).replicate(
        method, options.get("count"), seed=options.get("seed")).calibrate(margins, **calibration)
    for statistic in ("mean", "total"):
        ref = getattr(design, statistic)(ITEMS, by="region")
        got = estimate_partitioned(parquet_files(tmp_path), ITEMS, statistic, by="region",
                                   margins=margins, replicates=ReplicateSpec(method, **options),
                                   **calibration, **spec).estimate
        assert_same(ref.table, got.table)
        assert got.df == ref.df


@pytest.mark.parametrize("statistic, options", [
    ("total", {"covariance": "by"}),
    ("proportion", {"levels": [4, 5], "covariance": "all"}),
    ("mean", {"na_rm": False, "deff": "replace"}),
])
def test_replicate_totals_proportions_and_covariances_equal_the_in_memory_engine(
        folder, whole, statistic, options):
    from analysis.replicates import ReplicateSpec

    spec = DESIGNS["clusters with fpc"]
    design = SurveyDesign(whole[whole["wave"] == 2026].reset_index(drop=True), **spec
                          ).replicate("jkn")
    ref = getattr(design, statistic)(ITEMS, by="region", **options)
    got = estimate_partitioned(parquet_files(folder), ITEMS, statistic, by="region", wave=2026,
                               replicates=ReplicateSpec(method="jkn"), **options,
                               **spec).estimate
    assert_same(ref.table, got.table)
    if "covariance" in options:
        # relative to the standard errors: a covariance of two totals of other regions is
        # near 0, a difference of replicates' products about 1e16 apart
        ok = ~np.isnan(ref.vcov)
        assert (np.isnan(got.vcov) == ~ok).all()
        se = np.sqrt(np.diag(ref.vcov))
        scale = np.outer(se, se)
        assert (np.abs(ref.vcov[ok] - got.vcov[ok]) / scale[ok]).max() <= TOLERANCE


def test_brr_replicates_equal_the_in_memory_engine(whole, tmp_path):
    # two PSUs in every stratum (the first two that appear), split over files by province,
    # one of them spanning two files
    from analysis.replicates import ReplicateSpec

    parts = split_by_province(two_psus_per_stratum(whole[whole["wave"] == 2026]), tmp_path)
    spec = DESIGNS["stratified clusters"]
    ordered = pd.concat(parts, ignore_index=True)
    for rho in (0.0, 0.5):
        design = SurveyDesign(ordered, **spec).replicate("brr", fay_rho=rho)
        got = estimate_partitioned(parquet_files(tmp_path), ITEMS, "mean", by="region",
                                   replicates=ReplicateSpec(method="brr", fay_rho=rho or None),
                                   **spec)
        assert_same(design.mean(ITEMS, by="region").table, got.estimate.table)


@pytest.mark.parametrize("covariance", ["group", "by", "all"])
@pytest.mark.parametrize("name", ["stratified clusters", "clusters with fpc", "rows as PSUs"])
def test_covariances_equal_the_in_memory_engine(folder, whole, name, covariance):
    spec = DESIGNS[name]
    margins = read_margins(CENSUS_2020_ADULT_MARGINS)
    design = SurveyDesign(whole[whole["wave"] == 2025].reset_index(drop=True), **spec)
    ref = design.rake(margins).mean(ITEMS, by="region", covariance=covariance)
    got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                               by="region", wave=2025, covariance=covariance,
                               **spec).estimate
    assert (np.isnan(ref.vcov) == np.isnan(got.vcov)).all()
    ok = ~np.isnan(ref.vcov)
    rel = np.abs(ref.vcov[ok] - got.vcov[ok]) / np.abs(ref.vcov[ok])
    assert rel.max() <= TOLERANCE, rel.max()
    assert (ref.blocks is None and got.blocks is None) or (ref.blocks == got.blocks).all()


@pytest.mark.parametrize("raked", [False, True], ids=["weights", "raked"])
def test_a_linearisation_gives_the_in_memory_covariance_of_its_influence_values(folder, whole,
                                                                               raked):
    # what trend's second pass asks: the covariance of the PSU totals of w (y - center) scale
    spec = DESIGNS["clusters with fpc"]
    data = whole[whole["wave"] == 2025].reset_index(drop=True)
    design = SurveyDesign(data, **spec)
    margins = read_margins(CENSUS_2020_ADULT_MARGINS) if raked else None
    if raked:
        design = design.rake(margins)
    center, scale = np.array([2.5, 3.0, -1.0, 0.5]), np.array([0.2, -1.5, 3.0, 0.01])
    y = design.item_matrix(ITEMS)
    answered = ~np.isnan(y)
    z = np.where(answered, design.weights[:, None] * (np.nan_to_num(y) - center) * scale, 0.0)
    got = estimate_partitioned(parquet_files(folder), ITEMS, "mean", margins=margins,
                               wave=2025, covariance="group",
                               linearisation=(center[:, None], scale[:, None]), **spec)
    ref = design.vcov(z)
    assert np.abs(got.estimate.vcov - ref).max() <= TOLERANCE * np.abs(ref).max()
    assert got.estimate.coef == pytest.approx(design.mean(ITEMS).table["estimate"], rel=1e-12)
    assert list(got.item_df) == [degf(design, answered[:, j]) for j in range(len(ITEMS))]


# ------------------------------------------------------------------------------ command line
def run_cli(args) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


@pytest.mark.parametrize("calibration", [[], ["--calfun", "linear", "--bounds", "0.15,4.8"]],
                         ids=["raked", "linear bounded"])
def test_estimate_on_a_folder_equals_estimate_on_one_file(folder, whole, tmp_path, cluster,
                                                          calibration):
    one = tmp_path / "all.parquet"
    whole.to_parquet(one, index=False)
    common = ["--items", ",".join(ITEMS), "--base-weight", "base_weight", "--margins",
              str(CENSUS_2020_ADULT_MARGINS), "--strata", "stratum", "--psu", "psu", "--by",
              "region", "--keep-flagged", *calibration]
    code, err = run_cli(["estimate", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["estimate", str(folder), "--engine", "dask", "--scheduler",
                         cluster.scheduler_address, *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    assert "Dask engine: 4 file(s)" in err
    ref, got = pd.read_csv(tmp_path / "m.csv"), pd.read_csv(tmp_path / "d.csv")
    assert (ref["wave"] == got["wave"]).all()
    assert_same(ref.fillna({"by": "", "group": ""}), got.fillna({"by": "", "group": ""}))
    w_ref = pd.read_csv(tmp_path / "m.weighting.csv")
    w_got = pd.read_csv(tmp_path / "d.weighting.csv")
    assert np.allclose(w_ref.to_numpy(float), w_got.to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize("replicates", [
    ["--replicates", "jkn"],
    ["--replicates", "bootstrap:12", "--seed", "4"],
    ["--replicates", "jkn", "--margins", str(CENSUS_2020_ADULT_MARGINS), "--calfun", "linear"],
], ids=["jkn", "bootstrap", "calibrated jkn"])
def test_estimate_with_replicates_on_a_folder_equals_estimate_on_one_file(folder, whole,
                                                                          tmp_path, cluster,
                                                                          replicates):
    one = tmp_path / "all.parquet"
    whole.to_parquet(one, index=False)
    common = ["--items", ",".join(ITEMS), "--weight", "base_weight", "--strata", "stratum",
              "--psu", "psu", "--by", "region,sex", "--keep-flagged", *replicates]
    code, err = run_cli(["estimate", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["estimate", str(folder), "--scheduler", cluster.scheduler_address,
                         *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    ref, got = pd.read_csv(tmp_path / "m.csv"), pd.read_csv(tmp_path / "d.csv")
    assert (ref["wave"] == got["wave"]).all()
    assert_same(ref.fillna({"by": "", "group": ""}), got.fillna({"by": "", "group": ""}))


@pytest.fixture(scope="module")
def with_repweights(whole, tmp_path_factory) -> tuple[Path, Path]:
    """Wave 2026 with 15 bootstrap replicate-weight columns, in three files by province (and
    in one file)."""
    out = tmp_path_factory.mktemp("repweights")
    data = whole[whole["wave"] == 2026].reset_index(drop=True)
    design = SurveyDesign(data, weights="base_weight", strata="stratum", psu="psu"
                          ).replicate("bootstrap", 15, seed=2)
    data = pd.concat([data, pd.DataFrame(design.replicates.matrix(), columns=[
        f"repw{r + 1}" for r in range(15)])], axis=1)
    (out / "parts").mkdir()
    parts = split_by_province(data, out / "parts")
    pd.concat(parts, ignore_index=True).to_parquet(out / "all.parquet", index=False)
    return out / "parts", out / "all.parquet"


@pytest.mark.parametrize("options", [
    {"type": "bootstrap"},
    {"type": "other", "scale": 0.05, "rscales": (2.0,), "mse": True},  # and raked
])
def test_supplied_replicate_weights_equal_the_in_memory_engine(with_repweights, options):
    from analysis.replicates import ReplicateSpec

    parts, one = with_repweights
    columns = tuple(f"repw{r + 1}" for r in range(15))
    spec = ReplicateSpec(columns=columns, **options)
    design = spec.apply(SurveyDesign(read_responses(one), weights="base_weight"))
    margins = read_margins(CENSUS_2020_ADULT_MARGINS) if options["type"] == "other" else None
    if margins is not None:
        design = design.rake(margins)
    for statistic, kwargs in (("mean", {"covariance": "by"}), ("proportion", {"levels": [4]})):
        ref = getattr(design, statistic)(ITEMS, by=["region", "sex"], **kwargs)
        got = estimate_partitioned(parquet_files(parts), ITEMS, statistic, by=["region", "sex"],
                                   weights="base_weight", replicates=spec, margins=margins,
                                   **kwargs).estimate
        assert_same(ref.table, got.table)
        assert got.df == ref.df and got.interval_note == ref.interval_note
        if "covariance" in kwargs:
            ok = ~np.isnan(ref.vcov)
            assert (np.isnan(got.vcov) == ~ok).all()
            se = np.sqrt(np.diag(ref.vcov))
            assert (np.abs(ref.vcov - got.vcov)[ok] / np.outer(se, se)[ok]).max() <= TOLERANCE


def test_a_bad_replicate_weight_in_one_file_is_one_line_naming_the_file_and_column(
        with_repweights, tmp_path, cluster):
    parts, _ = with_repweights
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in parquet_files(parts):
        frame = read_responses(f)
        if f.name == "part-1.parquet":
            frame["repw7"] = frame["repw7"].where(frame.index != 3)
        frame.to_parquet(bad / f.name, index=False)
    code, err = run_cli(["estimate", str(bad), "--items", "N01_A1", "--weight", "base_weight",
                         "--repweights", "repw*", "--reptype", "bootstrap", "--keep-flagged",
                         "--scheduler", cluster.scheduler_address,
                         "--out", str(tmp_path / "e.csv")])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "part-1.parquet: column 'repw7': missing replicate weight in row 4" in lines[0]


def test_estimate_with_repweights_on_a_folder_equals_estimate_on_one_file(with_repweights,
                                                                          tmp_path, cluster):
    parts, one = with_repweights
    common = ["--items", ",".join(ITEMS), "--weight", "base_weight", "--repweights", "repw*",
              "--reptype", "bootstrap", "--by", "region", "--keep-flagged"]
    code, err = run_cli(["estimate", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["estimate", str(parts), "--scheduler", cluster.scheduler_address,
                         *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    ref, got = pd.read_csv(tmp_path / "m.csv"), pd.read_csv(tmp_path / "d.csv")
    assert_same(ref.fillna({"by": "", "group": ""}), got.fillna({"by": "", "group": ""}))


def same_files(ref: Path, got: Path, labels: list[str]) -> None:
    a, b = pd.read_csv(ref), pd.read_csv(got)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    assert (a[labels].fillna("").astype(str) == b[labels].fillna("").astype(str)).all().all()
    numbers = [c for c in a.columns if c not in labels and a[c].dtype != bool]
    x, y = a[numbers].to_numpy(float), b[numbers].to_numpy(float)
    assert (np.isnan(x) == np.isnan(y)).all()
    ok = np.isfinite(x) & (x != 0)
    assert (np.abs(x[ok] - y[ok]) / np.abs(x[ok])).max() <= TOLERANCE


@pytest.mark.parametrize("extra", [
    ["--items", "N01_A1,N04.practice,index.gap,N04_P2", "--by", "region"],
    ["--items", "N01_A1,N04_P2", "--proportion", "4,5", "--ci", "logit", "--by", "region,sex"],
    ["--items", "N01_A1,N04_P2", "--proportion", "4,5", "--ci", "wilson", "--by", "region"],
], ids=["indicators", "logit", "wilson"])
def test_indicators_and_proportion_intervals_equal_the_in_memory_engine(folder, whole,
                                                                        tmp_path, cluster,
                                                                        extra):
    one = tmp_path / "all.parquet"
    whole.to_parquet(one, index=False)
    common = [*extra, "--weight", "base_weight", "--strata", "stratum", "--psu", "psu",
              "--keep-flagged"]
    code, err = run_cli(["estimate", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["estimate", str(folder), "--scheduler", cluster.scheduler_address,
                         *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    same_files(tmp_path / "m.csv", tmp_path / "d.csv", ["wave", "item", "by", "group"])


@pytest.mark.parametrize("design", [
    ["--base-weight", "base_weight", "--margins", str(CENSUS_2020_ADULT_MARGINS)],
    ["--weight", "base_weight", "--replicates", "jkn"],
], ids=["raked", "jackknife"])
def test_compare_on_a_partitioned_data_set_equals_compare_in_memory(tmp_path, cluster, design):
    files = write_partitioned(tmp_path / "parts", 3000, waves=(2025, 2026), seed=3,
                              rows_per_file=1000)
    one = tmp_path / "all.parquet"
    pd.concat([read_responses(f) for f in files], ignore_index=True).to_parquet(one)
    common = ["--items", "N01_A1,N04.practice,index.gap,N09_P1", "--base", "2025",
              "--current", "2026", "--by", "region", *design, "--strata", "stratum", "--psu",
              "psu", "--keep-flagged"]
    code, err = run_cli(["compare", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["compare", str(tmp_path / "parts"), "--scheduler",
                         cluster.scheduler_address, *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    assert "Dask engine: 6 file(s)" in err
    same_files(tmp_path / "m.csv", tmp_path / "d.csv", ["item", "by", "group", "significant"])
    m_notes = pd.read_csv(tmp_path / "m.notes.csv")
    d_notes = pd.read_csv(tmp_path / "d.notes.csv")
    assert m_notes.equals(d_notes[d_notes["kind"] != "engine"].reset_index(drop=True))


@pytest.fixture(scope="module")
def three_waves(tmp_path_factory) -> tuple[Path, Path]:
    """Three waves in files of 1,000 rows (a folder) and the same rows in one file."""
    out = tmp_path_factory.mktemp("waves")
    files = write_partitioned(out / "parts", 2400, waves=(2024, 2025, 2026), seed=5,
                              rows_per_file=800)
    one = out / "all.parquet"
    pd.concat([read_responses(f) for f in files], ignore_index=True).to_parquet(one)
    return out / "parts", one


@pytest.mark.parametrize("design", [
    ["--weight", "base_weight", "--strata", "stratum", "--psu", "psu"],
    ["--base-weight", "base_weight", "--margins", str(CENSUS_2020_ADULT_MARGINS), "--strata",
     "stratum", "--psu", "psu", "--waves", "2024,2025,2026", "--level", "0.9"],
    ["--base-weight", "base_weight", "--margins", str(CENSUS_2020_ADULT_MARGINS), "--strata",
     "stratum", "--psu", "psu", "--rake-variance", "rake"],
    ["--weight", "base_weight", "--strata", "stratum", "--lonely-psu", "certainty"],
    ["--base-weight", "base_weight", "--margins", str(CENSUS_2020_ADULT_MARGINS), "--strata",
     "stratum", "--psu", "psu", "--calfun", "linear"],
], ids=["clusters", "raked", "rake variance", "rows as PSUs", "linear calibration"])
def test_trend_on_a_partitioned_data_set_equals_trend_in_memory(three_waves, tmp_path, cluster,
                                                                design):
    parts, one = three_waves
    common = ["--items", "N01_A1,N04.practice,index.gap,N09_P1,N04_P2", *design,
              "--keep-flagged"]
    code, err = run_cli(["trend", str(one), *common, "--out", str(tmp_path / "m.csv")])
    assert code == 0, err
    code, err = run_cli(["trend", str(parts), "--scheduler", cluster.scheduler_address,
                         *common, "--out", str(tmp_path / "d.csv")])
    assert code == 0, err
    assert "Dask engine: 9 file(s)" in err
    same_files(tmp_path / "m.csv", tmp_path / "d.csv", ["item"])
    same_files(tmp_path / "m.series.csv", tmp_path / "d.series.csv", ["item", "wave"])
    same_files(tmp_path / "m.weighting.csv", tmp_path / "d.weighting.csv", ["wave"])
    m_notes = pd.read_csv(tmp_path / "m.notes.csv")
    d_notes = pd.read_csv(tmp_path / "d.notes.csv")
    assert m_notes.equals(d_notes[d_notes["kind"] != "engine"].reset_index(drop=True))


@pytest.mark.parametrize("extra, message", [
    (["--lonely-psu", "average"], "--lonely-psu average is not available for trend on the Dask"),
    (["--waves", "2024,2025"], "a linear trend needs at least 3 waves"),
    (["--waves", "2024,2025,2027"], "wave 2027 is not in the data"),
])
def test_what_trend_cannot_do_on_the_engine_is_refused_in_one_line(three_waves, tmp_path,
                                                                   cluster, extra, message):
    parts, _ = three_waves
    code, err = run_cli(["trend", str(parts), "--items", "N01_A1", "--weight", "base_weight",
                         "--strata", "stratum", "--psu", "psu", "--keep-flagged", *extra,
                         "--scheduler", cluster.scheduler_address,
                         "--out", str(tmp_path / "t.csv")])
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_glob_selects_the_files(folder, tmp_path, cluster):
    code, err = run_cli(["estimate", str(folder / "part-[01].parquet"), "--items", "N01_A1",
                         "--strata", "stratum", "--psu", "psu", "--lonely-psu", "adjust",
                         "--keep-flagged", "--scheduler", cluster.scheduler_address,
                         "--out", str(tmp_path / "g.csv")])
    assert code == 0, err
    assert "Dask engine: 2 file(s)" in err


def bad_folder(folder, tmp_path, change) -> Path:
    out = tmp_path / "bad"
    out.mkdir()
    for f in parquet_files(folder):
        frame = read_responses(f)
        if f.name == "part-2.parquet":
            frame = change(frame)
        frame.to_parquet(out / f.name, index=False)
    return out


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns="psu"), "part-2.parquet: unknown column 'psu'"),
    (lambda f: f.assign(base_weight=f["base_weight"].where(f.index != 4, -1.0)),
     "part-2.parquet: column 'base_weight': weight -1 in row 5 is negative"),
    (lambda f: f.assign(N01_A1=f["N01_A1"].astype("Int64").where(f.index != 2, 77)),
     "part-2.parquet: column 'N01_A1', row 3: value 77 is not an answer code"),
    (lambda f: f.assign(sex=f["sex"].where(f.index != 6, "other")),
     "part-2.parquet: column 'sex': value 'other' is not a category of the margins"),
])
@pytest.mark.parametrize("command", ["estimate", "report"])
def test_bad_input_in_one_file_is_one_line_naming_the_file_and_column(folder, tmp_path, cluster,
                                                                      change, message, command):
    data = bad_folder(folder, tmp_path, change)
    design = ["--strata", "stratum", "--psu", "psu", "--scheduler", cluster.scheduler_address]
    if command == "estimate":
        extra = ["--items", "N01_A1", "--base-weight", "base_weight", "--margins",
                 str(CENSUS_2020_ADULT_MARGINS), "--keep-flagged", "--out",
                 str(tmp_path / "e.csv")]
    else:
        plan = tmp_path / "plan.yaml"
        plan.write_text(f"margins: {CENSUS_2020_ADULT_MARGINS}\n"
                        "design: {weight: base_weight, strata: stratum, psu: psu}\n"
                        "exclude_flagged: false\nsubgroups: [region]\n", encoding="utf-8")
        design = design[-2:]
        extra = ["--plan", str(plan), "--out", str(tmp_path / "r.html")]
    code, err = run_cli([command, str(data), *design, *extra])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"survey-analysis {command}: error: "), err
    assert message in lines[0], lines[0]


@pytest.mark.parametrize("extra, message", [
    (["--items", "N01_A1", "--psu", "psu,response_id"], "one --psu column"),
    (["--items", "N01_A1", "--engine", "memory"], "leave out --engine memory"),
    (["--items", "N01_A1", "--strata", "stratum"], "no column 'flag_speeder'"),
    (["--ratio", "N01_A1/N01_P1"], "--ratio is not available on the Dask engine"),
    (["--items", "N01_A1", "--quantile", "0.5"], "--quantile is not available"),
    (["--items", "N01_A1", "--margins", str(CENSUS_2020_ADULT_MARGINS), "--calfun",
      "logit"], "logit calibration needs finite bounds on the g-weights"),
    (["--items", "N01_A1", "--strata", "stratum", "--fpc", "fpc"], "--fpc without --weight"),
    (["--items", "N01_A1", "--weight", "base_weight", "--repweights", "base_*",
      "--reptype", "Fay"], "Fay replicate weights need Fay's rho"),
    (["--items", "N01_A1", "--strata", "stratum", "--replicates", "jkn"],
     "replicate weights on the Dask engine need --psu"),
    (["--items", "N01_A1", "--strata", "stratum", "--psu", "psu", "--replicates", "jkn",
      "--proportion", "4,5", "--ci", "logit"],
     "--ci logit with replicate weights is not available on the Dask engine"),
])
def test_what_the_engine_does_not_compute_is_refused_in_one_line(folder, tmp_path, cluster,
                                                                 extra, message):
    keep = [] if "--strata" in extra else ["--keep-flagged"]
    code, err = run_cli(["estimate", str(folder), *extra, *keep, "--scheduler",
                         cluster.scheduler_address, "--out", str(tmp_path / "e.csv")])
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_file_that_is_not_parquet_is_one_line_naming_it(folder, tmp_path, cluster):
    data = bad_folder(folder, tmp_path, lambda f: f)
    (data / "part-2.parquet").write_bytes(b"not a Parquet file")
    plan = tmp_path / "plan.yaml"
    plan.write_text("design: {weight: base_weight, strata: stratum, psu: psu}\n"
                    "exclude_flagged: false\n", encoding="utf-8")
    code, err = run_cli(["report", str(data), "--scheduler", cluster.scheduler_address,
                         "--plan", str(plan), "--out", str(tmp_path / "r.html")])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "part-2.parquet: not a readable Parquet file" in lines[0], lines[0]


def test_the_in_memory_engine_does_not_import_dask(tmp_path):
    data = tmp_path / "r.csv"
    make_responses(200, waves=[2026], seed=1, items="core").to_csv(data, index=False)
    code = ("import sys; from analysis.cli import main; "
            f"rc = main(['estimate', {str(data)!r}, '--items', 'N01_A1', '--keep-flagged', "
            f"'--out', {str(tmp_path / 'e.csv')!r}]); "
            "assert rc == 0; loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')); assert not loaded, loaded")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_generator_writes_a_partitioned_data_set_the_engine_reads(tmp_path):
    files = write_partitioned(tmp_path / "big", 3000, waves=[2026], seed=2, rows_per_file=1000)
    assert [f.name for f in files] == [f"wave-2026-part-{i:04d}.parquet" for i in range(3)]
    data = pd.concat([read_responses(f) for f in files], ignore_index=True)
    assert len(data) == 3000
    assert data["base_weight"].sum() == pytest.approx(1_156_394_786, rel=1e-9)
    assert data.groupby("psu")["stratum"].nunique().max() == 1
    design = SurveyDesign(data, weights="base_weight", strata="stratum", psu="psu")
    got = estimate_partitioned(files, ["N01_A1"], "mean", weights="base_weight",
                               strata="stratum", psu="psu", by="region").estimate.table
    assert_same(design.mean(["N01_A1"], by="region").table, got)
