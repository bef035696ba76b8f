"""`survey-analysis report` on the Dask engine gives the in-memory report's numbers.

Three synthetic waves (:func:`analysis.synthetic.write_partitioned`, "not applicable" written as
code 9, the quality flags computed in memory and carried as the export's flag columns) are
reported through the example plan twice: from one Parquet file in memory, and from the folder
of files on a two-process LocalCluster. Every number of the two findings (scores per wave,
changes and their tests, trends, answer distributions with CIs, subgroup tests, Cronbach's
alpha, weighting diagnostics, sample sizes and exclusions) must agree to 1e-9 relative, and
both PDFs must render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.io import read_responses
from analysis.quality import add_quality_flags
from analysis.synthetic import write_partitioned
from questionnaires import load_wave

distributed = pytest.importorskip("dask.distributed",
                                  reason="Dask (dask[distributed]) is not installed")

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "analysis" / "report" / "example_plan.yaml"
TOLERANCE = 1e-9
# the raking's remaining margin error is a residual of the iterations (about 1e-11), equal
# between the engines to rounding, not to 1e-9 of itself
ABSOLUTE = 1e-14


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    """The folder of Parquet files (two per wave) and the same rows in one file."""
    out = tmp_path_factory.mktemp("report-dask")
    files = write_partitioned(out / "parts", 1200, waves=(2024, 2025, 2026), seed=4,
                              rows_per_file=600, not_applicable_as_code=True)
    whole = pd.concat([read_responses(f).assign(file=f.name) for f in files],
                      ignore_index=True)
    whole = add_quality_flags(whole, load_wave)
    for name, part in whole.groupby("file"):
        part.drop(columns="file").to_parquet(out / "parts" / name, index=False)
    one = out / "all.parquet"
    whole.drop(columns="file").to_parquet(one, index=False)
    return out / "parts", one


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


def leaves(value, path=""):
    """``(path, value)`` of every number, text and date of a findings model."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from leaves(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from leaves(value[key], f"{path}[{key!r}]")
    elif isinstance(value, list | tuple):
        yield f"{path}.len", len(value)
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def differences(ref, got) -> list[str]:
    a, b = dict(leaves(ref)), dict(leaves(got))
    out = [f"{k}: only in one" for k in set(a) ^ set(b)]
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        if isinstance(x, float | np.floating) and isinstance(y, float | np.floating):
            if (math.isnan(x) and math.isnan(y)) or x == y or \
                    abs(x - y) <= TOLERANCE * max(abs(x), abs(y)) + ABSOLUTE:
                continue
        elif x == y:
            continue
        out.append(f"{key}: {x!r} != {y!r}")
    return out


def report(args, monkeypatch) -> tuple[int, str, object]:
    """Run `survey-analysis report` and keep the findings it rendered."""
    import analysis.report.findings as findings

    kept = []
    build = findings.build_findings

    def keep(*a, **kw):
        kept.append(build(*a, **kw))
        return kept[-1]

    monkeypatch.setattr(findings, "build_findings", keep)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["report", *args])
    return code, err.getvalue(), kept[0] if kept else None


def test_the_report_on_the_dask_engine_equals_the_in_memory_report(data, cluster, tmp_path,
                                                                   monkeypatch):
    parts, one = data
    plan = ["--plan", str(EXAMPLE_PLAN), "--language", "en"]
    code, err, ref = report([str(one), *plan, "--out", str(tmp_path / "m.pdf")], monkeypatch)
    assert code == 0, err
    code, err, got = report([str(parts), "--engine", "dask", "--scheduler",
                             cluster.scheduler_address, *plan, "--out", str(tmp_path / "d.pdf")],
                            monkeypatch)
    assert code == 0, err
    assert "Dask engine: 6 file(s), 2 worker(s)" in err
    for pdf in ("m.pdf", "d.pdf"):
        assert (tmp_path / pdf).read_bytes()[:5] == b"%PDF-"
    # every section has numbers to compare: the equality is not that of two empty reports
    norm = ref.norms[3]
    assert ref.not_applicable_recorded and ref.waves[0].exclusions["speeder"] > 0
    assert norm.comparisons and norm.trends and norm.subgroup_tests and norm.alpha
    assert norm.distributions and any(d.not_applicable for d in norm.distributions)
    assert ref.weighting.iterations and ref.waves[-1].weights.kish_deff > 1
    ref.software = got.software = {}
    assert differences(ref, got) == []


def test_quality_flags_the_engine_would_have_to_compute_are_refused(data, cluster, tmp_path):
    parts, _ = data
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in sorted(parts.iterdir()):
        read_responses(f).drop(columns="flag_attention").to_parquet(bare / f.name)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["report", str(bare), "--scheduler", cluster.scheduler_address, "--plan",
                     str(EXAMPLE_PLAN), "--out", str(tmp_path / "r.pdf")])
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert "wave-2024-part-0000.parquet: no column 'flag_attention': the report's quality " \
           "exclusions (plan exclude_flagged: true)" in lines[0]


def test_a_report_of_levels_of_an_earlier_wave_is_the_same_on_both_engines(data, cluster,
                                                                           tmp_path):
    """No earlier wave in the plan (levels only) and a current wave that is not the last one:
    its design, not the last wave's, gives the subgroup tests, alphas and distributions."""
    import dask

    from analysis.report.findings import build_findings
    from analysis.report.partitioned import DaskEngine
    from analysis.report.plan import load_plan

    parts, one = data
    margins = EXAMPLE_PLAN.parent.parent / "data" / "census2020_adult_margins.csv"
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"waves: [2025, 2026]\ncurrent_wave: 2025\nmargins: {margins}\n"
                         "design: {weight: base_weight, strata: stratum, psu: psu}\n"
                         "subgroups: [sex, region]\n", encoding="utf-8")
    plan = load_plan(plan_file)
    ref = build_findings(one, plan)
    with distributed.Client(cluster) as client, dask.config.set(scheduler=client):
        got = build_findings(parts, plan, engine=DaskEngine(parts, plan, client))
    assert ref.current_wave == 2025 and ref.base_wave is None
    norm = ref.norms[3]
    assert norm.subgroup_tests and norm.alpha and norm.distributions
    assert not norm.comparisons and not norm.trends
    ref.software = got.software = {}
    assert differences(ref, got) == []
