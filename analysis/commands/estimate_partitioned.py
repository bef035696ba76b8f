"""`survey-analysis estimate` on the Dask engine (:mod:`analysis.dask_engine`): the same table,
from a folder or glob of Parquet files read partition by partition.

Each wave is its own design, as in memory; the pipeline's row-level cleaning runs in every
partition (answer codes checked against the wave's definition, "not applicable" made missing,
flagged responses excluded by the data's flag columns). What the engine cannot do is refused in
one line naming the in-memory engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    refuse_design(spec)
    if spec.replicates is not None and getattr(args, "ci", "wald") != "wald":
        raise AnalysisInputError(f"--ci {args.ci} with replicate weights is not available on "
                                 "the Dask engine (a domain's degrees of freedom are the rank "
                                 "of its PSUs' replicate factors); use --engine memory")
    if statistic not in DASK_STATISTICS:
        raise AnalysisInputError(f"--{statistic} is not available on the Dask engine (it "
                                 f"estimates {', '.join(DASK_STATISTICS)}); use --engine memory")


def refuse_design(spec) -> None:
    """One line for a design the Dask engine does not take (every command's)."""
    from analysis.dask_engine import check_replicates

    check_replicates(getattr(spec, "replicates", None), spec.psu, None)
    if spec.fpc is not None and not (spec.weight or spec.base_weight):
        raise AnalysisInputError("--fpc without --weight: the in-memory engine derives the "
                                 "weights from the fpc (as R); on the Dask engine give --weight")
    if not isinstance(spec.psu, str | None) or not isinstance(spec.fpc, str | None):
        raise AnalysisInputError("the Dask engine takes one --psu column (a one-stage design); "
                                 "estimate a multistage design with --engine memory")


def run_partitioned(args, targets, request, spec, margins) -> int:
    from analysis.commands.options import design_effect_kind, ordered_rows
    from analysis.dask_engine import estimate_partitioned, waves_of
    from analysis.io import progress

    by, levels = request.by, request.levels
    refuse_unsupported(args, targets, spec, request.statistic)
    check_out(args.out)
    data = args.data[0]
    files = partitioned_files(data)
    raw = [t.item for t in targets if not t.is_indicator]
    indicators = [t for t in targets if t.is_indicator]
    statistic = request.statistic
    tables, weighting, notes = [], [], []
    with dask_client(args) as client:
        by_wave = waves_of(files)
        if margins is not None and margins.waves and None in by_wave:
            raise AnalysisInputError(f"{args.margins}: the margins give targets per wave but "
                                     f"{data} has no 'wave' column")
        meta = wave_metadata(files[0], list(by_wave), args)
        notes = [m for _, _, m in meta.notes]
        for wave, wave_files in progress(list(by_wave.items()), "estimating", unit="wave"):
            options = design_options(spec, margins, wave, meta.cleanings[wave], data)
            parts, result = [], None
            if raw:
                result = estimate_partitioned(
                    wave_files, raw, statistic, by=by or None, levels=levels,
                    deff=lambda weight_sum, rows: design_effect_kind(
                        args.deff, _Weights(weight_sum, rows)), **options)
                parts.append(proportion_intervals(result, request.ci, len(raw)))
            if indicators:
                scales, dropped = indicator_scales(wave_files, wave, meta, indicators)
                notes += [m for _, _, m in dropped]
                estimate, result = target_estimate_partitioned(
                    wave_files, indicators, scales, by=by or None, options=options)
                parts.append(estimate.to_frame())
            table = ordered_rows(parts, targets, by)
            table.insert(0, "wave", "" if wave is None else wave)
            tables.append(table)
            notes += result_notes(result, wave)
            weighting.append({"wave": "" if wave is None else wave,
                              **result.diagnostics.as_dict()})
        notes.append(engine_note(files, client))
    write_csv(pd.concat(tables, ignore_index=True)[OUTPUT_COLUMNS], args.out, args.digits)
    say("estimate", notes)
    if spec.weighted:
        write_weighting(pd.DataFrame(weighting), args.out, "estimate", args.digits)
    return 0


def partitioned_files(data) -> list:
    """The Parquet files of a folder or glob (one line for any other file)."""
    from analysis.dask_engine import parquet_files

    files = parquet_files(data)
    other = next((f for f in files if f.suffix.lower() not in PARQUET_SUFFIXES), None)
    if other is not None:
        raise AnalysisInputError(f"{other}: the Dask engine reads Parquet files (.parquet, .pq)")
    return files


def engine_note(files, client) -> str:
    return (f"Dask engine: {len(files)} file(s), {len(client.scheduler_info()['workers'])} "
            f"worker(s) at {client.scheduler.address}")


def design_options(spec, margins, wave, cleaning, data) -> dict:
    """The design arguments of :func:`analysis.dask_engine.estimate_partitioned` for ``wave``
    (its margins, cleaning and the design columns of ``spec``)."""
    from analysis.pipeline import margins_for_wave

    start = (spec.base_weight or spec.weight) if margins is not None else spec.weight
    return dict(weights=start, strata=spec.strata, psu=spec.psu, fpc=spec.fpc,
                margins=margins_for_wave(margins, wave) if margins is not None else None,
                rescale=spec.rescale, rake_variance=spec.rake_variance, calfun=spec.calfun,
                bounds=spec.bounds, replicates=spec.replicates,
                lonely_psu=spec.lonely_psu, wave=wave, cleaning=cleaning, source=str(data))


def result_notes(result, wave) -> list[str]:
    """What the cleaning did to one wave's rows (the in-memory pipeline's notes)."""
    from analysis.quality import ExclusionReport

    notes = []
    label = f"wave {wave}: " if wave is not None else ""
    if result.excluded:
        reasons = {k: v for k, v in result.excluded.items() if k not in ("total", "rows")}
        report = ExclusionReport(n_rows=result.excluded["rows"], by_reason=reasons,
                                 total=result.excluded.get("total", 0))
        notes.append(f"{label}{report.message()}")
    for col, k in result.recoded.items():
        notes.append(f"{label}column '{col}': {k} out-of-range answer "
                     f"code{'s' if k != 1 else ''} set to missing (--recode-invalid)")
    return notes


def proportion_intervals(result, method: str, k: int) -> pd.DataFrame:
    """The estimate's table with ``method``'s intervals (:mod:`analysis.ciprop`): the domain
    degrees of freedom are the engine's per-group PSUs reached minus their strata."""
    table = result.estimate.table
    if method == "wald":
        return table
    from analysis.ciprop import CI_METHODS

    table = table.copy()
    df = np.repeat(result.group_df.astype(float), k)
    low, high = CI_METHODS[method](table["estimate"].to_numpy(dtype=float),
                                   table["se"].to_numpy(dtype=float),
                                   table["n"].to_numpy(dtype=float), df)
    table["ci_low"], table["ci_high"] = low, high
    return table


def indicator_scales(files, wave, meta, targets) -> tuple[list, list]:
    """The scales wave ``wave``'s indicator ``targets`` are scored from (its definition's items
    the data answer) and notes naming the items the data lack: the in-memory
    ``Survey.indicator_scales`` on the answer counts of the files."""
    from analysis.comparability import component_scales, wave_scales_in_data

    frame = answered_frame(files, wave, meta, [])
    scales, notes = wave_scales_in_data({wave: meta.definitions[wave]}, {wave: frame}, targets)
    used = {n for t in targets if t.is_indicator for n in component_scales(t, scales[wave])}
    return [s for name, s in scales[wave].items() if name in used], notes


def answered_frame(files, wave, meta, extra: list[str]) -> pd.DataFrame:
    """A one-row frame standing for a wave's rows where the comparability rules look: a column
    per item of the wave's definition (and ``extra``) the files have, answered (1) when some
    row answers it, else missing."""
    from analysis.dask_engine import answer_counts

    columns = list(dict.fromkeys([*meta.definitions[wave].items, *extra]))
    counts = answer_counts(files, columns, wave, meta.cleanings[wave])
    return pd.DataFrame({c: [1.0 if n > 0 else np.nan] for c, n in counts.items()})


def target_estimate_partitioned(files, targets, scales, *, by=None, proportion=None,
                                options: dict, deff=False):
    """:func:`analysis.indicators.target_estimate` on the Dask engine: the item means (or
    shares) of every domain group with their covariances within groups, and the targets as
    their contrasts (``indicators.combination_estimate``). Returns the estimate and the
    engine's result (with ``deff``, its item table has the items' design effects)."""
    from analysis.dask_engine import estimate_partitioned
    from analysis.indicators import _combination, combination_estimate, respondent_sets

    if proportion is not None and any(t.is_indicator for t in targets):
        raise AnalysisInputError("--proportion applies to raw items, not to indicators "
                                 "(norm scores are means on 0-100)")
    comb = _combination(targets, scales)
    result = estimate_partitioned(files, comb.items,
                                  "mean" if proportion is None else "proportion", by=by,
                                  levels=proportion, deff=deff, covariance="group",
                                  respondents=respondent_sets(comb), **options)
    estimate = combination_estimate(result.estimate, comb, result.respondents.ravel())
    return estimate, result


class _Weights:
    """What :func:`design_effect_kind` reads of a design: the weights' sum and the rows."""

    def __init__(self, weight_sum: float, rows: int):
        self.weights = pd.Series([weight_sum])
        self.n = rows


@dataclass(frozen=True)
class WaveMetadata:
    """Per wave the row-level cleaning and definition, whether wording versions are known,
    and the notes about where the metadata came from."""

    cleanings: dict
    definitions: dict
    versions_known: dict
    notes: list  # (kind, item, message), as the in-memory pipeline's
    fieldwork: pd.DataFrame | None = None  # the export's fieldwork summary, when it has one


def wave_metadata(first, waves: list, args) -> WaveMetadata:
    """:func:`_cleanings` with the definitions (for indicators and comparability)."""
    cleanings, notes, definitions, known, fieldwork = _cleanings(first, waves, args,
                                                                 details=True)
    kinds = ["metadata"] * (len(notes) - args.keep_flagged) + ["quality"] * args.keep_flagged
    return WaveMetadata(cleanings, definitions, known,
                        [(kind, "", m) for kind, m in zip(kinds, notes, strict=True)],
                        fieldwork)


def _cleanings(first, waves: list, args, details: bool = False) -> tuple:
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
    if details:
        known = {y: (meta.waves[y].versions_known if y is not None else False)
                 for y in definitions}
        return cleanings, notes, definitions, known, meta.fieldwork
    return cleanings, notes
