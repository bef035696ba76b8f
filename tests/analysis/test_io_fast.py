"""read_responses' own Parquet reader gives exactly the frame pandas would, and CSV and Parquet
exports read to the same values."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.io import read_responses
from analysis.synthetic import make_responses


@pytest.fixture(scope="module")
def export():
    data = make_responses(3000, waves=(2025, 2026), seed=7)
    # text codes that look like numbers, a missing string, a column without nulls
    data.loc[5, "sex"] = None
    return data


@pytest.mark.parametrize("row_group_size", [None, 700])
def test_parquet_matches_pandas(tmp_path, export, row_group_size):
    path = tmp_path / "r.parquet"
    export.to_parquet(path, index=False, row_group_size=row_group_size)
    ours = read_responses(path)
    pd.testing.assert_frame_equal(ours, pd.read_parquet(path), check_exact=True)
    assert ours["N01_A1"].dtype == "Int64"
    assert ours["N01_A1"].isna().sum() == export["N01_A1"].isna().sum() > 0
    assert ours.loc[5, "sex"] is np.nan or pd.isna(ours.loc[5, "sex"])
    assert ours["province"].iloc[0] == export["province"].iloc[0]
    assert isinstance(ours["province"].iloc[0], str)
    cols = ["N02_P2", "region", "psu", "submitted_at"]
    pd.testing.assert_frame_equal(read_responses(path, columns=cols),
                                  pd.read_parquet(path, columns=cols), check_exact=True)


def test_parquet_values_are_writable(tmp_path, export):
    path = tmp_path / "r.parquet"
    export.to_parquet(path, index=False)
    data = read_responses(path)
    data.loc[0, "N01_A1"] = 3
    data.loc[1, "N01_A1"] = pd.NA
    assert data.loc[0, "N01_A1"] == 3 and pd.isna(data.loc[1, "N01_A1"])
    assert read_responses(path).loc[0, "N01_A1"] == export.loc[0, "N01_A1"]


def test_parquet_without_pandas_metadata(tmp_path):
    table = pa.table({"a": pa.array([1, None, 3], pa.int64()), "b": ["x", None, "65+"],
                      "c": pa.array([1.5, 2.0, None])})
    path = tmp_path / "plain.parquet"
    pq.write_table(table, path)
    pd.testing.assert_frame_equal(read_responses(path), pd.read_parquet(path),
                                  check_exact=True)


def test_csv_and_parquet_give_the_same_values(tmp_path, export):
    pq_path, csv_path = tmp_path / "r.parquet", tmp_path / "r.csv"
    export.to_parquet(pq_path, index=False)
    export.to_csv(csv_path, index=False)
    a, b = read_responses(pq_path), read_responses(csv_path)
    assert list(a.columns) == list(b.columns)
    items = [c for c in a.columns if c[:1] == "N" and "_" in c] + ["ATTN1"]
    for col in items + ["psu", "wave"]:
        np.testing.assert_array_equal(a[col].to_numpy(dtype=float, na_value=np.nan),
                                      b[col].to_numpy(dtype=float, na_value=np.nan))
    for col in ["sex", "age_group", "region", "education", "stratum"]:
        assert (a[col].fillna("<NA>").astype(str) == b[col].fillna("<NA>").astype(str)).all()
    assert (b["age_group"].dropna() == a["age_group"].dropna()).all()
    assert "65+" in set(b["age_group"])
    np.testing.assert_allclose(a["base_weight"], b["base_weight"], rtol=1e-15)


def test_parquet_only_strings_and_stored_index(tmp_path, export):
    path = tmp_path / "r.parquet"
    export.to_parquet(path, index=False)
    for cols in (["region"], ["region", "sex"], ["N01_A1"]):
        pd.testing.assert_frame_equal(read_responses(path, columns=cols),
                                      pd.read_parquet(path, columns=cols), check_exact=True)
    indexed = tmp_path / "indexed.parquet"
    export.set_index("region").to_parquet(indexed)
    pd.testing.assert_frame_equal(read_responses(indexed), pd.read_parquet(indexed),
                                  check_exact=True)
    pd.testing.assert_frame_equal(read_responses(indexed, columns=["sex", "N01_A1"]),
                                  pd.read_parquet(indexed, columns=["sex", "N01_A1"]),
                                  check_exact=True)


def test_parquet_as_the_survey_export_writes_it(tmp_path, export):
    # survey/export.py: pyarrow schema without pandas metadata (string categories, int64
    # items, int8 flags, UTC timestamps), written in chunks (several row groups)
    cats = ["sex", "age_group", "province", "region", "urban_rural", "education"]
    items = ["N01_A1", "N01_P1", "N04_P2"]
    fields = ([pa.field("response_id", pa.string()), pa.field("wave", pa.int64())]
              + [pa.field(c, pa.string()) for c in cats]
              + [pa.field(c, pa.int64()) for c in items]
              + [pa.field("started_at", pa.timestamp("ms", tz="UTC")),
                 pa.field("duration_s", pa.float64()), pa.field("flag_speeder", pa.int8())])
    schema = pa.schema(fields)
    frame = export[[f.name for f in fields if f.name != "flag_speeder"]].copy()
    frame["flag_speeder"] = (np.arange(len(frame)) % 7 == 0).astype("int8")
    path = tmp_path / "export.parquet"
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(frame), 1000):
            chunk = frame.iloc[start:start + 1000]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
    ours = read_responses(path)
    pd.testing.assert_frame_equal(ours, pd.read_parquet(path), check_exact=True)
    assert ours["N04_P2"].isna().any() and ours["sex"].isna().sum() == 1
