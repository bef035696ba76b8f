"""`estimate` drops quality-flagged responses by default, like `compare` and `trend`."""

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.synthetic import make_responses


@pytest.fixture
def responses():
    return make_responses(400, waves=(2025,), seed=3)


def run_estimate(capsys, data, out, *extra):
    code = cli.main(["estimate", str(data), "--items", "N04_P1", "--out", str(out), *extra])
    captured = capsys.readouterr()
    return code, pd.read_csv(out) if code == 0 else None, captured.err


def test_flag_columns_of_the_export_are_honoured(tmp_path, capsys, responses):
    df = responses.assign(flag_speeder=0, flag_straightliner=0, flag_attention=0)
    df.loc[:9, "flag_speeder"] = 1
    data = tmp_path / "r.csv"
    df.to_csv(data, index=False)
    code, est, err = run_estimate(capsys, data, tmp_path / "e.csv")
    assert code == 0
    assert "wave 2025: excluded 10 of 400 responses" in err
    kept = df.loc[10:, "N04_P1"].astype(float)
    assert est.estimate.iloc[0] == pytest.approx(kept.mean())
    assert est.n.iloc[0] == kept.notna().sum()

    code, est_all, err = run_estimate(capsys, data, tmp_path / "e2.csv", "--keep-flagged")
    assert code == 0 and "no response excluded" in err
    assert est_all.estimate.iloc[0] == pytest.approx(df["N04_P1"].astype(float).mean())


def test_flags_are_computed_from_the_wave_definition_when_absent(tmp_path, capsys, responses):
    from analysis.quality import add_quality_flags, exclude_flagged

    data = tmp_path / "r.parquet"
    responses.to_parquet(data)
    code, est, err = run_estimate(capsys, data, tmp_path / "e.csv")
    kept, report = exclude_flagged(add_quality_flags(responses))
    assert code == 0 and report.total > 0
    assert f"excluded {report.total} of 400" in err
    assert est.estimate.iloc[0] == pytest.approx(kept["N04_P1"].astype(float).mean())


def test_a_wave_without_definition_is_kept_whole_and_said(tmp_path, capsys, responses):
    df = responses.assign(wave=1999)
    data = tmp_path / "r.csv"
    df.to_csv(data, index=False)
    code, est, err = run_estimate(capsys, data, tmp_path / "e.csv")
    assert code == 0 and "wave 1999: no questionnaire definition" in err
    assert est.n.iloc[0] == np.isfinite(df["N04_P1"].astype(float)).sum()


def test_exclusion_keeps_file_row_numbers_in_later_messages(tmp_path, capsys):
    df = make_responses(50, waves=(2024, 2025), seed=4).sample(frac=1, random_state=1)
    df = df.reset_index(drop=True).assign(flag_speeder=0, flag_straightliner=0,
                                          flag_attention=0)
    df.loc[0, "flag_speeder"] = 1          # excluded before the bad row below
    df = df.astype({"N04_P1": object})
    df.loc[7, "N04_P1"] = "often"
    data = tmp_path / "r.csv"
    df.to_csv(data, index=False)
    code, _, err = run_estimate(capsys, data, tmp_path / "e.csv")
    assert code == 2
    assert "row 8: value 'often'" in err and err.count("\n") == 1
