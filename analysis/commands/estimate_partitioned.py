"""`survey-analysis estimate` on the Dask engine (:mod:`analysis.dask_engine`): the same table,
from a folder or glob of Parquet files read partition by partition.

Each wave is its own design, as in memory; the pipeline's row-level cleaning runs in every
partition (answer codes checked against the wave's definition, "not applicable" made missing,
flagged responses excluded by the data's flag columns). What the engine cannot do is refused in
one line naming the in-memory engine.
"""

from __future__ import annotations

import pandas as pd

from analysis.commands.engine import dask_client
from analysis.commands.options import check_out, say, write_csv, write_weighting
from analysis.errors import AnalysisInputError
from analysis.io import PARQUET_SUFFIXES

OUTPUT_COLUMNS = ["wave", "item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n",
                  "deff"]


# the statistics of `estimate` the Dask engine computes (the others need a second pass over
# sorted values, as quantiles, or per-row ratios not yet mapped onto partition sums)
DASK_STATISTICS = ("mean", "total", "proportion")


def refuse_unsupported(args, targets, spec, statistic: str) -> None:
    """One line for what the Dask engine does not compute (docs/analysis.md)."""
    if statistic not in DASK_STATISTICS:
        raise AnalysisInputError(f"--{statistic} is not available on the Dask engine (it "
                                 f"estimates {', '.join(DASK_STATISTICS)}); use --engine memory")
    if spec.calfun != "raking" or spec.bounds is not None:
        raise AnalysisInputError(f"--calfun {spec.calfun}"
                                 f"{' with --bounds' if spec.bounds is not None else ''} is not "
                                 "available on the Dask engine (it rakes); use --engine memory")
    indicators = [t for t in targets if t.is_indicator]
    if indicators:
        raise AnalysisInputError(f"the Dask engine estimates items, not indicators such as "
                                 f"'{indicators[0].name}' (their SEs need covariances); use "
                                 "--engine memory on one file")
    if args.ci != "wald":
        raise AnalysisInputError(f"--ci {args.ci} is not available on the Dask engine "
                                 "(use --engine memory)")
    if getattr(spec, "replicates", None) is not None:
        raise AnalysisInputError("replicate weights (--replicates, --repweights) are not "
                                 "available on the Dask engine; use --engine memory")
    if spec.fpc is not None and not (spec.weight or spec.base_weight):
        raise AnalysisInputError("--fpc without --weight: the in-memory engine derives the "
                                 "weights from the fpc (as R); on the Dask engine give --weight")
    if not isinstance(spec.psu, str | None) or not isinstance(spec.fpc, str | None):
        raise AnalysisInputError("the Dask engine takes one --psu column (a one-stage design); "
                                 "estimate a multistage design with --engine memory")


def run_partitioned(args, targets, request, spec, margins) -> int:
    from analysis.commands.options import design_effect_kind
    from analysis.dask_engine import estimate_partitioned, parquet_files, waves_of
    from analysis.pipeline import margins_for_wave
    from analysis.quality import ExclusionReport

    by, levels = request.by, request.levels
    refuse_unsupported(args, targets, spec, request.statistic)
    check_out(args.out)
    data = args.data[0]
    files = parquet_files(data)
    other = next((f for f in files if f.suffix.lower() not in PARQUET_SUFFIXES), None)
    if other is not None:
        raise AnalysisInputError(f"{other}: the Dask engine reads Parquet files (.parquet, .pq)")
    items = [t.item for t in targets]
    statistic = request.statistic
    start = (spec.base_weight or spec.weight) if margins is not None else spec.weight
    tables, weighting, notes = [], [], []
    with dask_client(args) as client:
        by_wave = waves_of(files)
        if margins is not None and margins.waves and None in by_wave:
            raise AnalysisInputError(f"{args.margins}: the margins give targets per wave but "
                                     f"{data} has no 'wave' column")
        cleanings, notes = _cleanings(files[0], list(by_wave), args)
        for wave, wave_files in by_wave.items():
            result = estimate_partitioned(
                wave_files, items, statistic, weights=start, strata=spec.strata, psu=spec.psu,
                fpc=spec.fpc,
                margins=margins_for_wave(margins, wave) if margins is not None else None,
                rescale=spec.rescale, rake_variance=spec.rake_variance, by=by or None,
                levels=levels, lonely_psu=spec.lonely_psu, wave=wave, cleaning=cleanings[wave],
                deff=lambda weight_sum, rows: design_effect_kind(
                    args.deff, _Weights(weight_sum, rows)),
                source=str(data))
            table = result.estimate.table
            table.insert(0, "wave", "" if wave is None else wave)
            tables.append(table)
            label = f"wave {wave}: " if wave is not None else ""
            if result.excluded:
                reasons = {k: v for k, v in result.excluded.items() if k not in ("total", "rows")}
                report = ExclusionReport(n_rows=result.excluded["rows"], by_reason=reasons,
                                         total=result.excluded.get("total", 0))
                notes.append(f"{label}{report.message()}")
            for col, k in result.recoded.items():
                notes.append(f"{label}column '{col}': {k} out-of-range answer "
                             f"code{'s' if k != 1 else ''} set to missing (--recode-invalid)")
            weighting.append({"wave": "" if wave is None else wave,
                              **result.diagnostics.as_dict()})
        notes.append(f"Dask engine: {len(files)} file(s), {len(client.scheduler_info()['workers'])}"
                     f" worker(s) at {client.scheduler.address}")
    write_csv(pd.concat(tables, ignore_index=True)[OUTPUT_COLUMNS], args.out, args.digits)
    say("estimate", notes)
    if spec.weighted:
        write_weighting(pd.DataFrame(weighting), args.out, "estimate", args.digits)
    return 0


class _Weights:
    """What :func:`design_effect_kind` reads of a design: the weights' sum and the rows."""

    def __init__(self, weight_sum: float, rows: int):
        self.weights = pd.Series([weight_sum])
        self.n = rows


def _cleanings(first, waves: list, args) -> tuple[dict, list[str]]:
    """Per wave the row-level cleaning of the pipeline, from the metadata of the first file
    (a codebook beside it or in its Parquet metadata, else the repository's wave definition,
    else the column names), and the notes about the metadata."""
    from analysis.dask_engine import Cleaning
    from analysis.io import response_columns
    from analysis.metadata import columns_wave, read_metadata, valid_codes
    from analysis.quality import FLAG_COLUMNS

    columns = response_columns(first)
    if not args.keep_flagged:
        missing = [c for c in FLAG_COLUMNS if c not in columns]
        if missing:
            raise AnalysisInputError(
                f"{first}: no column '{missing[0]}': the Dask engine excludes flagged "
                "responses by the export's flag columns and does not compute them (the "
                "speeder rule needs each wave's median duration); give --keep-flagged or "
                "estimate in memory")
    years = [y for y in waves if y is not None]
    meta = read_metadata(first, years, {y: columns for y in years})
    definitions = {y: meta.waves[y].definition for y in years}
    if None in waves:
        definitions[None] = columns_wave(0, columns)
    cleanings = {}
    for y, definition in definitions.items():
        not_applicable = {code: item.not_applicable.code
                          for code, item in definition.items.items()
                          if item.not_applicable is not None}
        cleanings[y] = Cleaning(valid_codes=valid_codes(definition),
                                not_applicable=not_applicable, keep_flagged=args.keep_flagged,
                                recode_invalid=args.recode_invalid)
    notes = [m for _, _, m in meta.notes]
    if args.keep_flagged:
        notes.append("quality flags ignored (--keep-flagged): no response excluded")
    return cleanings, notes
