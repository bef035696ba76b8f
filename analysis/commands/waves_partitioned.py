"""`survey-analysis compare` on the Dask engine (:mod:`analysis.dask_engine`): the same tables
from a folder or glob of Parquet files.

Each wave is its own design, estimated partition by partition: its targets (items and Ten
Norms indicators) are contrasts of its item means, whose covariances within domain groups the
engine computes; the comparison of two waves is the in-memory one
(:func:`analysis.compare.comparison_from_estimates`: differences of independent waves'
estimates, :func:`analysis.results.combine_independent`). The comparability rules are the
in-memory ones, applied to the wave definitions and to which items each wave's files answer
(one light pass counting answers).
"""

from __future__ import annotations

from analysis.commands.engine import dask_client
from analysis.commands.estimate_partitioned import (
    answered_frame,
    design_options,
    engine_note,
    partitioned_files,
    refuse_design,
    result_notes,
    target_estimate_partitioned,
    wave_metadata,
)
from analysis.commands.options import check_out, parse_levels
from analysis.errors import AnalysisInputError


def _waves(files, years, data) -> dict:
    """wave -> its files, for ``years`` (one line for a wave the files lack)."""
    from analysis.dask_engine import waves_of

    by_wave = waves_of(files)
    if None in by_wave:
        raise AnalysisInputError(f"{data}: column 'wave' is missing from the data")
    if len(set(years)) != len(years):
        raise AnalysisInputError(f"waves repeat: {', '.join(map(str, years))}")
    for y in years:
        if y not in by_wave:
            raise AnalysisInputError(f"wave {y} is not in the data (waves loaded: "
                                     f"{', '.join(map(str, by_wave))})")
    return {y: by_wave[y] for y in years}


def _margins(spec):
    from analysis.io import read_margins

    if spec.margins is None:
        return None
    return spec.margins if not isinstance(spec.margins, str) else read_margins(spec.margins)


def compare_partitioned(args, items, by, spec):
    """:func:`analysis.compare.compare_waves` on the Dask engine (a :class:`Comparison`)."""
    import pandas as pd

    from analysis.comparability import check_targets
    from analysis.compare import METHODS, comparison_from_estimates
    from analysis.indicators import parse_targets

    refuse_design(spec)
    check_out(args.out)
    if args.method not in METHODS:
        raise AnalysisInputError(f"--method '{args.method}' is not one of {', '.join(METHODS)}")
    data = args.data[0]
    files = partitioned_files(data)
    targets = parse_targets(items)
    years = [args.base, args.current]
    margins = _margins(spec)
    proportion = parse_levels(args.proportion)
    with dask_client(args) as client:
        by_wave = _waves(files, years, data)
        meta = wave_metadata(files[0], years, args)
        raw = [t.item for t in targets if not t.is_indicator]
        frames = {y: answered_frame(by_wave[y], y, meta, raw + list(by or [])) for y in years}
        check = check_targets(targets, {y: meta.definitions[y] for y in years}, frames,
                              versions_known=all(meta.versions_known[y] for y in years),
                              common_items=args.common_items)
        notes = list(meta.notes) + check.notes
        not_comparable = [(name, "", "", reason) for name, reason in check.not_comparable]
        estimates, weighting = {}, []
        for y in years:
            if not check.comparable:
                break
            options = design_options(spec, margins, y, meta.cleanings[y], data)
            estimates[y], result = target_estimate_partitioned(
                by_wave[y], check.comparable, check.scales_for(y), by=by,
                proportion=proportion, options=options)
            notes += [("quality", "", m) for m in result_notes(result, y)]
            weighting.append({"wave": y, **result.diagnostics.as_dict()})
        notes.append(("engine", "", engine_note(files, client)))
    return comparison_from_estimates(
        estimates, args.base, args.current, targets, not_comparable, notes,
        method=args.method, alpha=args.alpha, level=0.95,
        weighting=pd.DataFrame(weighting) if weighting else None)
