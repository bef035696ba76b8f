"""Columns of the newer question types in the analysis: a multiple choice's 0/1 columns are
ordinary items (shares with SEs), typed numbers give means, free texts are never estimated."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from questionnaires import CODEBOOK_COLUMNS, codebook_rows
from tests.typed_wave import typed_wave

YEAR = 2031


@pytest.fixture
def export(tmp_path):
    """A responses table of the typed wave (local items only filled in) with its codebook."""
    wave = typed_wave(YEAR)
    book = codebook_rows(wave)
    rng = np.random.default_rng(7)
    n = 200
    data = {row["item"]: [None] * n for row in book}
    data.update(response_id=[f"{i:032x}" for i in range(n)], wave=[YEAR] * n)
    for k in range(1, 5):
        data[f"DEMO_bins__{k}"] = rng.integers(0, 2, n)
    data["DEMO_trips"] = rng.integers(0, 61, n)
    data["DEMO_spend"] = np.round(rng.uniform(0, 500, n), 2)
    data["DEMO_comment"] = rng.choice(["", "好", "'=1+2"], n)
    for flag in ("flag_speeder", "flag_straightliner", "flag_attention"):
        data[flag] = [0] * n
    path = tmp_path / "responses.csv"
    pd.DataFrame(data)[[r["item"] for r in book]].to_csv(path, index=False)
    with open(tmp_path / "responses.codebook.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, CODEBOOK_COLUMNS)
        writer.writeheader()
        writer.writerows(book)
    return path, pd.DataFrame(data)


def _estimate(path, tmp_path, *args):
    from analysis.cli import main

    out = tmp_path / "e.csv"
    code = main(["estimate", str(path), *args, "--out", str(out)])
    return code, (pd.read_csv(out) if code == 0 else None)


def test_each_option_of_a_multiple_choice_is_a_share_with_its_se(export, tmp_path, capsys):
    path, data = export
    items = ",".join(f"DEMO_bins__{k}" for k in range(1, 5))
    code, table = _estimate(path, tmp_path, "--items", items, "--proportion", "1")
    assert code == 0, capsys.readouterr().err
    for k, row in zip(range(1, 5), table.itertuples(), strict=True):
        p = data[f"DEMO_bins__{k}"].mean()
        assert row.item == f"DEMO_bins__{k}"
        assert row.estimate == pytest.approx(p, rel=1e-12)
        # simple random sample: se = sqrt(p(1-p)/(n-1))
        assert row.se == pytest.approx(np.sqrt(p * (1 - p) / (len(data) - 1)), rel=1e-12)


def test_typed_numbers_give_means(export, tmp_path, capsys):
    path, data = export
    code, table = _estimate(path, tmp_path, "--items", "DEMO_trips,DEMO_spend")
    assert code == 0, capsys.readouterr().err
    assert table.estimate.tolist() == pytest.approx(
        [data.DEMO_trips.mean(), data.DEMO_spend.mean()], rel=1e-12)


@pytest.mark.parametrize("args", [["--items", "DEMO_comment"],
                                  ["--items", "DEMO_trips", "--by", "DEMO_comment"]])
def test_free_text_is_never_estimated(export, tmp_path, capsys, args):
    path, _ = export
    code, _ = _estimate(path, tmp_path, *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].endswith("responses.csv: column 'DEMO_comment' is a free-text answer "
                            "(codebook type 'text'): free texts are exported for reading, never "
                            "estimated")


def test_free_text_is_refused_by_the_model_command_too(export, tmp_path, capsys):
    from analysis.cli import main

    path, _ = export
    code = main(["model", str(path), "--formula", "DEMO_trips ~ C(DEMO_comment)",
                 "--out", str(tmp_path / "m.csv")])
    assert code == 2
    assert "column 'DEMO_comment' is a free-text answer" in capsys.readouterr().err


@pytest.mark.parametrize("plan", [{"subgroups": ["DEMO_comment"]},
                                  {"design": {"strata": "DEMO_comment"}}])
def test_a_report_never_groups_by_or_designs_with_a_free_text(export, plan):
    from analysis.errors import AnalysisInputError
    from analysis.report.findings import build_findings
    from analysis.report.plan import plan_from_dict

    path, _ = export
    with pytest.raises(AnalysisInputError, match="column 'DEMO_comment' is a free-text answer"):
        build_findings(path, plan_from_dict(plan))

