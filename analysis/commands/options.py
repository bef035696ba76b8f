"""What the analysis commands share: option groups (argparse parent parsers), list parsing, the
reader (:func:`analysis.pipeline.load_survey`) and the writer of results and their sidecars.

Each command builds its parser with ``parents=[...]`` from the factories here, so a design flag,
a quality flag or an output flag is declared once and means the same everywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError

LONELY_PSU_RULES = ("fail", "remove", "adjust", "average", "certainty")


# --------------------------------------------------------------------------- parent parsers
def data_parent(waves_option: bool = True) -> argparse.ArgumentParser:
    """DATA files, or the survey database (:func:`add_database_options`); ``waves_option``
    False for a command with its own ``--waves`` (trend), which then also says which waves
    are read from the database."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("data", metavar="DATA", nargs="*",
                   help="responses table (.csv, .parquet, SPSS .sav or Stata .dta; its codebook "
                        "X.codebook.csv or Parquet metadata gives the questionnaire); several "
                        "files are pooled, each an independent survey (e.g. one per province): "
                        "strata = file x stratum, PSUs nested in them, weights as given, a "
                        "'source' column holds each file's label. Or none, with --database")
    p.add_argument("--pool-labels", metavar="A,B,...",
                   help="with several DATA files: the 'source' label of each, in order "
                        "(default: the file names without their suffix)")
    add_database_options(p, waves_option)
    return p


def add_database_options(parser, waves_option: bool = True) -> None:
    """``--database URL --org CODE [--waves Y,Y] [--include-children] [--timezone Z]``: an
    organisation's waves read from the survey database instead of DATA
    (:mod:`analysis.database`)."""
    from analysis.database import DEFAULT_TIMEZONE, URL_VARIABLE

    g = parser.add_argument_group(
        "the survey database (instead of DATA: the export's table, codebook and fieldwork "
        "summary, read only)")
    g.add_argument("--database", metavar="URL",
                   help="sqlite:///path/survey.sqlite or postgresql://user@host/db (default: "
                        f"the environment variable {URL_VARIABLE}, which keeps a password off "
                        "the command line)")
    g.add_argument("--org", metavar="CODE",
                   help="the organisation whose waves are read (needed with --database)")
    if waves_option:
        g.add_argument("--waves", metavar="Y1,Y2,...",
                       help="the waves to read (default: the ones the command asks for, else "
                            "every wave of --org with a questionnaire)")
    g.add_argument("--include-children", action="store_true",
                   help="also read the same waves of every organisation below --org, each "
                        "pooled as an independent survey ('source' = organisation code)")
    g.add_argument("--timezone", default=DEFAULT_TIMEZONE, metavar="ZONE",
                   help="time zone of the fieldwork summary's dates, the app's "
                        f"SURVEY_TIMEZONE (default {DEFAULT_TIMEZONE})")


def data_sources(args, waves=None) -> list:
    """What the command reads: its DATA files, or (``--database``/``--org``) one
    :class:`analysis.database.DatabaseSource` per organisation; ``waves`` are the waves the
    command needs (read from the database when ``--waves`` is not given).  Looked up once per
    command."""
    cached = getattr(args, "_sources", None)
    if cached is not None:
        return cached
    data = [args.data] if isinstance(args.data, str) else list(args.data or ())
    org = getattr(args, "org", None)
    if getattr(args, "database", None) is None and org is None:
        if getattr(args, "include_children", False):
            raise AnalysisInputError("--include-children needs --database URL --org CODE")
        if not data:
            raise AnalysisInputError("give a DATA file, or --database URL --org CODE")
        sources = data
    else:
        from analysis.database import database_sources, database_url

        if data:
            raise AnalysisInputError(f"give DATA ({data[0]}) or --database, not both")
        if org is None:
            raise AnalysisInputError("--database needs --org CODE (the organisation whose "
                                     "waves are read)")
        given = parse_numbers(getattr(args, "waves", None), "--waves", int, "year")
        sources = database_sources(database_url(args.database), org,
                                   given if given is not None else waves,
                                   include_children=args.include_children,
                                   timezone=args.timezone)
    args._sources = sources
    return sources


def data_name(args) -> str:
    """How messages name the data: the file, or the pooled files (organisations)."""
    return " + ".join(map(str, data_sources(args)))


def source_columns(source) -> list[str]:
    """The column names of a DATA file or database source, without reading its rows."""
    from analysis.io import response_columns

    reader = getattr(source, "columns", None)
    return reader() if callable(reader) else response_columns(source)


def design_parent() -> argparse.ArgumentParser:
    """The design flags: one design per wave, built the same way by every command."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("design (applied to each wave separately)")
    g.add_argument("--weight", metavar="COL", help="final weight column (default: all 1)")
    g.add_argument("--strata", metavar="COL", help="stratum column")
    g.add_argument("--psu", metavar="COL[,COL...]",
                   help="PSU column (nested in strata); several columns, one per sampling "
                        "stage, for a multistage design (each nested in the one before)")
    g.add_argument("--fpc", metavar="COL[,COL...]",
                   help="finite population correction: >1 population units, <=1 fraction; "
                        "one column per --psu stage (without it only the first stage "
                        "counts)")
    g.add_argument("--margins", metavar="M.csv",
                   help="rake each wave to these margins (variable,category,target[,wave])")
    g.add_argument("--base-weight", metavar="COL",
                   help="starting weights for --margins (default: --weight, else 1)")
    g.add_argument("--rescale", action="store_true",
                   help="with --margins: turn count targets on different bases into shares of "
                        "one total")
    add_calibration_options(g)
    g.add_argument("--rake-variance", default="calibrate", choices=("calibrate", "rake"),
                   help="how SEs account for --margins: as R's calibrate(calfun='raking') "
                        "(default) or as a design raked by R's rake() (plain raking only)")
    g.add_argument("--lonely-psu", default="fail", choices=LONELY_PSU_RULES,
                   help="single-PSU strata, as R's survey.lonely.psu (default: fail)")
    add_replicate_options(p)
    return p


def add_replicate_options(parser) -> None:
    """Replicate weights (R's ``as.svrepdesign`` / ``svrepdesign``): SEs from replicates."""
    from analysis.replicates import SUPPLIED_TYPES

    g = parser.add_argument_group("replicate weights (SEs from replicates instead of "
                                  "linearisation)")
    g.add_argument("--replicates", metavar="METHOD",
                   help="build replicates from the design, as R's as.svrepdesign: jk1 "
                        "(unstratified), jkn (stratified jackknife), brr (2 PSUs per "
                        "stratum; brr:fay=RHO for Fay's method), bootstrap:R (R's "
                        "bootweights) or subbootstrap:R (Rao-Wu, n_h-1 PSUs); --margins "
                        "then calibrate every replicate")
    g.add_argument("--repweights", metavar="'PREFIX*'",
                   help="use the data's replicate-weight columns (names matching the "
                        "pattern), as R's svrepdesign(combined.weights=TRUE); needs --reptype "
                        "and no --strata/--psu/--fpc")
    g.add_argument("--reptype", choices=SUPPLIED_TYPES,
                   help="type of the --repweights: sets R's default scale (BRR 1/R, Fay "
                        "1/(R(1-rho)^2), bootstrap 1/(R-1), JK1 (R-1)/R); JKn needs --rscales")
    g.add_argument("--rscale", type=float, metavar="X",
                   help="with --repweights: the overall variance multiplier (R's scale=)")
    g.add_argument("--rscales", metavar="X[,X...]",
                   help="with --repweights: one multiplier per replicate, or one for all "
                        "(R's rscales=)")
    g.add_argument("--fay-rho", type=float, metavar="RHO",
                   help="Fay's rho of --reptype Fay weights")
    g.add_argument("--mse", action="store_true",
                   help="centre the replicates at the estimate, not at their mean (R's "
                        "mse=TRUE)")
    g.add_argument("--seed", type=int, metavar="N",
                   help="seed of the bootstrap draws (--replicates bootstrap/subbootstrap)")


def add_calibration_options(group) -> None:
    """``--calfun`` and ``--bounds``: how ``--margins`` are met (``weight``, and the design
    flags of the other commands)."""
    from analysis.weighting import CALIBRATION_FUNCTIONS

    group.add_argument("--calfun", default="raking", choices=tuple(CALIBRATION_FUNCTIONS),
                       help="calibration function for --margins, as R's calibrate(calfun=): "
                            "raking (default; iterative proportional fitting without "
                            "--bounds), linear (GREG) or logit (needs --bounds)")
    group.add_argument("--bounds", metavar="L,U",
                       help="bounds on the g-weights (calibrated / starting weight), as R's "
                            "calibrate(bounds=c(L, U)), L < 1 < U, e.g. 0.5,2")


def calibration_options(args) -> tuple[str, tuple[float, float] | None]:
    """``(calfun, bounds)`` from ``--calfun`` and ``--bounds``, checked before any data is
    read (bounds that are not two numbers with ``L < 1 < U``, logit without bounds)."""
    from analysis.weighting import check_bounds

    bounds = None
    if args.bounds is not None:
        bounds = parse_numbers(args.bounds, f"--bounds {args.bounds}")
        if len(bounds) != 2:
            raise AnalysisInputError(f"--bounds {args.bounds}: give two numbers L,U, the lower "
                                     "and upper bound of the g-weights (e.g. 0.5,2)")
    return args.calfun, check_bounds(bounds, args.calfun, option="--bounds")


def cleaning_parent() -> argparse.ArgumentParser:
    """Response quality and answer-code validation."""
    p = argparse.ArgumentParser(add_help=False)
    q = p.add_argument_group("response quality and answer codes")
    q.add_argument("--keep-flagged", action="store_true",
                   help="keep speeders, straight-liners and failed attention checks "
                        "(default: exclude them and say how many on stderr)")
    q.add_argument("--recode-invalid", action="store_true",
                   help="set answer codes outside an item's codes to missing and say how many "
                        "per column (default: refuse the data)")
    return p


def output_parent(metavar: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, metavar=metavar,
                   help="output table: CSV, or Parquet, SPSS or Stata for a name ending "
                        ".parquet, .sav or .dta (sidecars .notes.csv, .weighting.csv, ... "
                        "beside it)")
    g.add_argument("--digits", type=int, metavar="N",
                   help="round the numbers written to N decimals (default: full precision)")
    add_language_option(g)
    return p


def add_language_option(group) -> None:
    group.add_argument("--language", default="zh", choices=("zh", "en"),
                       help="language of the variable and value labels of a .sav or .dta "
                            "output (default zh)")


# --------------------------------------------------------------------------- parsing
# `--deff auto`: weights summing to at least this many times the rows are population weights,
# so the SRS reference is sampling without replacement (R's deff=TRUE), else with replacement
POPULATION_WEIGHT_RATIO = 10


def design_effect_kind(option: str, design):
    """``deff=`` argument of the estimators for the ``--deff`` option."""
    if option == "wor":
        return True
    if option == "wr":
        return "replace"
    return True if design.weights.sum() >= POPULATION_WEIGHT_RATIO * design.n else "replace"


def design_spec(args, **extra):
    from analysis.pipeline import DesignSpec

    if args.base_weight and not args.margins:
        raise AnalysisInputError("--base-weight needs --margins (it is the starting weight of "
                                 "the raking)")
    calfun, bounds = calibration_options(args)
    if not args.margins and (args.bounds is not None or calfun != "raking"):
        given = "--bounds" if args.bounds is not None else f"--calfun {calfun}"
        raise AnalysisInputError(f"{given} needs --margins (it says how the weights are "
                                 "calibrated to them)")
    rake_variance = getattr(args, "rake_variance", "calibrate")
    if rake_variance == "rake" and (calfun != "raking" or bounds is not None):
        raise AnalysisInputError("--rake-variance rake is the variance of a design raked by "
                                 "R's rake(): it applies to --calfun raking without --bounds")
    psu = stage_columns(args.psu, "--psu")
    fpc = stage_columns(args.fpc, "--fpc")
    if fpc is not None:
        given = [fpc] if isinstance(fpc, str) else list(fpc)
        stages = 1 if psu is None or isinstance(psu, str) else len(psu)
        if len(given) != stages:
            raise AnalysisInputError(
                f"--fpc: {len(given)} column(s) ({', '.join(given)}) for {stages} sampling "
                f"stage(s) (--psu {args.psu or 'not given: each row'}); give one fpc column "
                "per stage")
    return DesignSpec(weight=args.weight, strata=args.strata, psu=psu, fpc=fpc,
                      margins=args.margins, base_weight=args.base_weight,
                      lonely_psu=args.lonely_psu, rescale=args.rescale, calfun=calfun,
                      bounds=bounds, rake_variance=rake_variance,
                      replicates=replicate_spec(args), **extra)


def replicate_spec(args):
    """The :class:`analysis.replicates.ReplicateSpec` of ``--replicates`` / ``--repweights``
    (``None`` for linearisation); the ``--repweights`` pattern is matched against the data's
    column names here, so that only those columns are read."""
    from analysis.replicates import ReplicateSpec, matching_columns, parse_method

    method, given = getattr(args, "replicates", None), getattr(args, "repweights", None)
    supplied_only = [f for f, v in (("--reptype", getattr(args, "reptype", None)),
                                    ("--rscale", getattr(args, "rscale", None)),
                                    ("--rscales", getattr(args, "rscales", None)))
                     if v is not None]
    if method and given:
        raise AnalysisInputError("--replicates builds replicate weights, --repweights reads "
                                 "them: give one")
    if not method and not given:
        for flag, value in ((supplied_only[0] if supplied_only else None, True),
                            ("--fay-rho", getattr(args, "fay_rho", None)),
                            ("--mse", getattr(args, "mse", False) or None),
                            ("--seed", getattr(args, "seed", None))):
            if flag and value is not None:
                raise AnalysisInputError(f"{flag} needs --replicates or --repweights")
        return None
    mse = bool(getattr(args, "mse", False))
    if method:
        if supplied_only:
            raise AnalysisInputError(f"{supplied_only[0]} applies to --repweights, not to "
                                     "--replicates")
        name, count, rho = parse_method(method)
        if getattr(args, "fay_rho", None) is not None:
            raise AnalysisInputError("--fay-rho is for --reptype Fay weights; write "
                                     f"--replicates brr:fay={args.fay_rho:g}")
        return ReplicateSpec(method=name, count=count, fay_rho=rho, seed=args.seed, mse=mse)
    for flag, value in (("--psu", args.psu), ("--strata", args.strata), ("--fpc", args.fpc)):
        if value:
            raise AnalysisInputError(f"--repweights carry the design's variance: drop {flag} "
                                     f"{value}")
    if args.reptype is None:
        raise AnalysisInputError("--repweights needs --reptype (JK1, JKn, bootstrap, BRR, Fay "
                                 "or other)")
    if args.seed is not None:
        raise AnalysisInputError("--seed applies to --replicates bootstrap/subbootstrap")
    from analysis.dask_engine import is_partitioned, parquet_files

    # a folder or glob of Parquet files (the Dask engine): its first file's columns
    files = [parquet_files(f)[0] if isinstance(f, str) and is_partitioned(f) else f
             for f in data_sources(args)]
    matched = [tuple(matching_columns(source_columns(f), given, str(f))) for f in files]
    for f, cols in zip(files[1:], matched[1:], strict=True):
        if cols != matched[0]:
            raise AnalysisInputError(f"{f}: --repweights '{given}' matches {len(cols)} "
                                     f"columns, {files[0]} {len(matched[0])}; pooled files "
                                     "need the same replicate-weight columns")
    columns = matched[0] if matched else given
    rscales = (tuple(parse_numbers(args.rscales, f"--rscales {args.rscales}"))
               if args.rscales is not None else None)
    return ReplicateSpec(columns=columns, type=args.reptype, scale=args.rscale,
                         rscales=rscales, fay_rho=args.fay_rho, mse=mse)


def stage_columns(text: str | None, what: str) -> str | tuple[str, ...] | None:
    """``--psu``/``--fpc``: ``'a'`` -> ``'a'`` (one stage), ``'a,b'`` -> ``('a', 'b')``."""
    if text is None:
        return None
    columns = split_list(text, what, "column name")
    return columns[0] if len(columns) == 1 else tuple(columns)


def split_list(text: str, what: str, noun: str = "name") -> list[str]:
    """``'a, b,,c'`` -> ``['a', 'b', 'c']``; nothing left is an error naming the option."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise AnalysisInputError(f"{what}: give at least one {noun}")
    return values


def parse_numbers(text: str | None, what: str, kind=float, noun: str = "number") -> list | None:
    """``'4,5'`` -> ``[4.0, 5.0]`` (``kind`` int for years); ``None`` stays ``None``."""
    if text is None:
        return None
    out = []
    for v in split_list(text, what, noun):
        try:
            out.append(kind(v))
        except ValueError:
            raise AnalysisInputError(f"{what}: '{v}' is not a {noun}") from None
    return out


def parse_levels(text: str | None) -> list[float] | None:
    if text is None:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise AnalysisInputError("--proportion: give the answer levels to count, e.g. 4,5")
    levels = []
    for v in values:
        try:
            levels.append(float(v))
        except ValueError:
            raise AnalysisInputError(f"--proportion: level '{v}' is not a number") from None
    return levels


# --------------------------------------------------------------------------- reading
def load(args, *, waves=None, columns=None, require_wave: bool = True, estimated=()):
    """The command's data through the one pipeline (:func:`analysis.pipeline.load_survey`);
    ``estimated`` (the columns the command estimates or groups by) may not be free texts."""
    from analysis.pipeline import load_survey

    options = dict(waves=waves, keep_flagged=args.keep_flagged,
                   recode_invalid=args.recode_invalid, columns=columns,
                   require_wave=require_wave)
    sources = data_sources(args, waves)
    if len(sources) == 1:
        if args.pool_labels:
            raise AnalysisInputError("--pool-labels names the source of each of several DATA "
                                     "files; one file was given")
        survey = load_survey(sources[0], **options)
    else:
        survey = load_pooled(args, **options)
    survey.refuse_free_text(list(estimated))
    return survey


def load_pooled(args, **options):
    """Several DATA files pooled (:func:`analysis.pooling.load_pooled`), the weight sums of
    ``--base-weight`` or ``--weight`` in its notes."""
    from analysis.pooling import load_pooled as pool

    labels = split_list(args.pool_labels, "--pool-labels", "label") if args.pool_labels \
        else None
    weight = getattr(args, "base_weight", None) or getattr(args, "weight", None)
    return pool(data_sources(args), labels=labels, weight=weight, **options)


# --------------------------------------------------------------------------- writing
def sidecar(out: str, name: str) -> Path:
    """``C.csv`` -> ``C.<name>.csv`` beside the output."""
    p = Path(out)
    return p.with_name(f"{p.stem}.{name}.csv") if p.suffix else p.with_name(f"{p.name}.{name}.csv")


def check_out(out: str) -> None:
    parent = Path(out).parent
    if parent and not parent.exists():
        raise AnalysisInputError(f"--out: directory '{parent}' does not exist")


def rounded(table: pd.DataFrame, digits: int | None) -> pd.DataFrame:
    """``table`` with its float columns rounded to ``digits`` decimals (unchanged for None)."""
    if digits is None:
        return table
    if digits < 0:
        raise AnalysisInputError(f"--digits {digits}: give 0 or more decimals")
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    return table.round(dict.fromkeys(floats, digits)) if floats else table


def write_csv(table: pd.DataFrame, path, digits: int | None = None,
              language: str = "zh") -> list[str]:
    """Write ``table`` at full precision (``repr`` round-trip of every float) unless ``digits``,
    as CSV or, by ``path``'s suffix, Parquet, SPSS or Stata (:data:`analysis.writers.
    TABLE_WRITERS`; the result columns labelled in ``language``); the writer's notes."""
    from analysis.writers import column_labels, write_table

    return write_table(rounded(table, digits), path, column_labels(table.columns, language))


def say(command: str, messages) -> None:
    for m in messages:
        print(f"survey-analysis {command}: {m}", file=sys.stderr)


def write_weighting(table: pd.DataFrame | None, out: str, command: str,
                    digits: int | None = None) -> None:
    """The weighting diagnostics (contract section 7): one line per wave on stderr and
    ``OUT.weighting.csv``."""
    if table is None or table.empty:
        return
    write_csv(table, sidecar(out, "weighting"), digits)
    say(command, [weighting_line(r) for r in table.to_dict("records")])


def weighting_line(r: dict) -> str:
    wave = f"wave {r['wave']}: " if r["wave"] != "" else ""
    line = (f"{wave}weighting: {r['n']} responses, effective sample size "
            f"{r['n_effective']:.1f} (Kish design effect of weighting {r['kish_deff']:.3f}); "
            f"weights {r['weight_min']:.4g} to {r['weight_max']:.4g} (ratio "
            f"{r['weight_ratio']:.3g})")
    return line + (f"; {r['n_trimmed']} trimmed" if r["n_trimmed"] else "")


def write_outputs(table: pd.DataFrame, notes: pd.DataFrame, out: str, command: str,
                  digits: int | None = None, language: str = "zh") -> None:
    """The result and its ``.notes.csv`` sidecar; every note also goes to stderr."""
    check_out(out)
    written = write_csv(table, out, digits, language)
    notes.to_csv(sidecar(out, "notes"), index=False)
    say(command, list(notes["message"]) + written)


def ordered_rows(parts: list[pd.DataFrame], targets, by: list[str]) -> pd.DataFrame:
    """The tables of raw items and of indicators as one: whole sample first, then each
    group, targets in the order asked."""
    table = pd.concat(parts, ignore_index=True)
    if len(parts) == 1:
        return table
    order = {t.name: i for i, t in enumerate(targets)}
    blocks = {b: i for i, b in enumerate(["", *by])}
    groups = {key: i for i, key in enumerate(dict.fromkeys(zip(table["by"], table["group"],
                                                               strict=True)))}
    keys = pd.DataFrame({"b": table["by"].map(blocks),
                         "g": [groups[k] for k in zip(table["by"], table["group"], strict=True)],
                         "i": table["item"].map(order)})
    return table.loc[keys.sort_values(["b", "g", "i"], kind="stable").index].reset_index(
        drop=True)
