"""The same design-based estimates over Parquet data too large for one process, on Dask.

Design-based estimation is a map-reduce. Every number :func:`analysis.estimates.domain_estimates`
needs is a sum over rows: per (item, domain group) the weights, weighted values and squares and
answer counts; per (item, group, weighting cell) the sums the calibration regression runs on;
per (item, group, stratum) the stratum totals of the linearised values; and per (item, group,
PSU) their totals, which the variance squares. This module computes those sums partition by
partition (one partition per Parquet file: a ``dask.delayed`` task per file on whatever
scheduler is active, a ``dask.distributed`` client, a ``LocalCluster`` or threads; each task
reads its file with :func:`analysis.io.read_responses`, so types, text decoding and messages
are the in-memory reader's) and finishes with the reduce the in-memory engine runs, in NumPy:

1. **describe** (one pass): the labels that must mean the same in every partition -- strata,
   (stratum, PSU) pairs, domain groups, the cells of the crossed weighting variables with the
   sums of the starting weights -- and the checks of the design columns (each message names
   the file, column, value and row). The driver numbers strata, groups and cells globally and
   calibrates on the cell table with the in-memory engine's code
   (:func:`analysis.weighting.cell_factors`: raking, or linear, logit or bounded calibration
   as R's ``grake``; :func:`analysis.weighting.poststratify_cells` for a post-stratification
   table): a calibration to categorical margins needs nothing else, and its g-weights are
   constant within cells.
2. **sums**: per partition the (item, group) sums, the (item, group, cell) sums of the
   calibration and the (item, group, stratum) sums; added up in a tree. The driver turns them
   into estimates, calibration coefficients (:meth:`analysis.variance.Calibration.coefficients`)
   and the stratum means the PSU totals are centred at.
3. **squares**: per partition the PSU totals of the calibration residuals of the linearised
   values and the sums over each stratum of their squared deviations from the stratum mean.
   A PSU whose rows lie in several files sends its partial totals to the driver, which adds
   them before squaring; every other PSU is squared where it was read. The variances then come
   from :meth:`analysis.variance.PSUStructure.variance_from_squares_t` and the table from
   :func:`analysis.estimates.estimates_from_sums`, as in memory.

So no process ever holds more than one partition's rows, and the driver holds tables of
(items x groups) x (strata + weighting cells + PSUs shared between files).

With ``covariance=`` the squares pass also adds up, per block of domain groups, the
cross-products of the centred PSU totals (each scaled by its stratum's variance factor), which
gives the covariances of :func:`analysis.estimates.domain_estimates`; the Ten Norms indicators
are contrasts of those means (the commands use :func:`analysis.indicators.combination_estimate`).

With ``replicates=`` (jackknife, BRR, bootstrap built from the design) the sums pass also
adds, per file, the (group, PSU) sums of weights and weighted values times the file's PSUs'
replicate factors (supplied replicate-weight columns: the group sums of the rows' columns),
and the variances come from :func:`analysis.replicates.replicate_estimates_from_sums` (no
squares pass). With margins too, a pass before the sums adds up each replicate's weights per
weighting cell, and the driver calibrates every replicate on them.

What it does not compute (use the in-memory engine): multistage designs (one PSU column),
trimming, and quality
flags it would have to compute itself (the speeder rule needs the wave's median duration): the
data must carry the export's flag columns, or the command runs with ``--keep-flagged``.

Dask is an optional dependency (``pip install -e '.[dask]'``): this module imports it only
inside the functions that run it, and nothing in the in-memory path imports this module.
"""

from __future__ import annotations

import glob as globbing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.design import numeric_column, row_name
from analysis.errors import AnalysisInputError
from analysis.io import PARQUET_SUFFIXES
from analysis.variance import compact_codes

# ``--engine auto`` takes the Dask engine for Parquet data larger than this on disk (about
# 10 GB in memory: Parquet compresses answer codes about tenfold)
AUTO_DASK_BYTES = 1 << 30


# --------------------------------------------------------------------------- the source
def parquet_files(source) -> list[Path]:
    """The Parquet files of ``source``: a folder (its ``*.parquet``/``*.pq`` files, sorted; a
    folder without any holding ``key=value`` folders, the Hive layout of ``flask --app survey
    export --out DIR/ --partition province``, gives the files under them), a glob pattern
    (``data/*.parquet``, sorted) or one file."""
    text = str(source)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES)
        if not files:
            files = _partition_files(path)
        if not files:
            raise AnalysisInputError(f"{text}: the folder has no .parquet files")
        return files
    if globbing.has_magic(text):
        files = sorted(Path(p) for p in globbing.glob(text))
        if not files:
            raise AnalysisInputError(f"{text}: no file matches the pattern")
        return files
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", text)
    return [path]


def _partition_files(folder: Path) -> list[Path]:
    """The Parquet files under ``key=value`` folders (hidden and ``_`` folders, such as an
    export's temporary one, left out), sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PARQUET_SUFFIXES
                  and all("=" in part and not part.startswith((".", "_"))
                          for part in p.relative_to(folder).parts[:-1]))


def is_partitioned(source) -> bool:
    """Whether ``source`` names several files (a folder or a glob pattern)."""
    text = str(source)
    return Path(text).is_dir() or globbing.has_magic(text)


def data_bytes(files: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in files)


def file_waves(path) -> list[int] | None:
    """The waves in one file (None when it has no ``wave`` column), validated."""
    from analysis.io import read_responses, response_columns
    from analysis.validation import check_wave_column

    if "wave" not in response_columns(path):
        return None
    data = read_responses(path, columns=["wave"])
    return sorted(set(check_wave_column(data, str(path)).tolist()))


def waves_of(files: Sequence[Path]) -> dict:
    """wave -> the files that have its rows (``{None: files}`` when no file has a ``wave``
    column; some files with it and some without is an error naming one of each)."""
    from dask import delayed

    found = _compute([delayed(file_waves, pure=True)(f) for f in files])
    without = [f for f, w in zip(files, found, strict=True) if w is None]
    if len(without) == len(files):
        return {None: list(files)}
    if without:
        with_wave = next(f for f, w in zip(files, found, strict=True) if w is not None)
        raise AnalysisInputError(f"{without[0]}: no column 'wave', which {with_wave} has")
    out: dict = {}
    for f, years in zip(files, found, strict=True):
        for y in years:
            out.setdefault(y, []).append(f)
    return dict(sorted(out.items()))


def map_partitions(files: Sequence[Path], fn, columns: Sequence[str], wave=None,
                   cleaning: Cleaning | None = None, args: tuple = ()) -> list:
    """``fn(rows, *args)`` on each file's rows of ``wave`` after the row-level cleaning (the
    columns of ``columns`` the file has), a task per file; the results in file order. ``fn``
    must be importable by the workers (a module-level function)."""
    from dask import delayed

    cleaning = cleaning or Cleaning()
    return _compute([delayed(_in_file, pure=True)(f, _map_rows, f, fn, list(columns), wave,
                                                  cleaning, tuple(args)) for f in files])


def _map_rows(path, fn, columns: list[str], wave, cleaning, args: tuple):
    from analysis.io import response_columns

    have = set(response_columns(path))
    read = [c for c in dict.fromkeys(columns) if c in have]
    if wave is not None:
        read.append("wave")
    if not cleaning.keep_flagged:
        from analysis.quality import FLAG_COLUMNS

        read += list(FLAG_COLUMNS)
    data, _ = _read(path, list(dict.fromkeys(read)), wave, cleaning)
    return fn(data, *args)


def _answered(data: pd.DataFrame, columns: list[str]) -> pd.Series:
    return data[[c for c in dict.fromkeys(columns) if c in data.columns]].notna().sum()


def answer_counts(files: Sequence[Path], columns: Sequence[str], wave=None,
                  cleaning: Cleaning | None = None) -> pd.Series:
    """Per column of ``columns`` the files have, its answers in ``wave``'s rows after the
    row-level cleaning (what the comparability rules ask of the data: which items a wave's
    data answer)."""
    parts = map_partitions(files, _answered, columns, wave, cleaning, (list(columns),))
    return pd.concat(parts, axis=1).fillna(0).sum(axis=1).astype(np.int64)


# --------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Cleaning:
    """What the pipeline does to each partition's rows (:func:`analysis.pipeline.load_survey`
    row by row): answer codes checked (or recoded), "not applicable" codes made missing,
    flagged responses excluded by the data's flag columns."""

    valid_codes: dict = field(default_factory=dict)
    not_applicable: dict = field(default_factory=dict)  # item -> its "not applicable" code
    keep_flagged: bool = True
    recode_invalid: bool = False


@dataclass(frozen=True)
class Plan:
    """What every partition needs to know (sent to the workers: plain data only)."""

    items: tuple[str, ...]
    statistic: str
    levels: tuple[float, ...] | None
    by: tuple[str, ...]
    weight: str | None
    strata: str | None
    psu: str | None
    fpc: str | None
    rake: tuple[tuple[str, tuple[str, ...]], ...]  # (variable, margin categories)
    wave: int | None
    cleaning: Cleaning
    # sets of item positions: count per domain group the rows answering any of them (the
    # respondents of an indicator, :func:`analysis.indicators._respondents`)
    respondents: tuple[tuple[int, ...], ...] = ()
    # per item, when given: its values are the indicator of the answer codes ``counted`` over
    # the rows answering one of ``domain`` (an answer distribution's shares)
    indicators: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = ()
    # supplied replicate-weight columns (--repweights)
    replicate_columns: tuple[str, ...] = ()
    # what the weighting variables' categories come from, for messages
    weighting_source: str = "margins"

    @property
    def columns(self) -> list[str]:
        cols = [*self.items, *self.by, self.weight, self.strata, self.psu, self.fpc,
                *(v for v, _ in self.rake), *self.replicate_columns]
        if self.wave is not None:
            cols.append("wave")
        if not self.cleaning.keep_flagged:
            from analysis.quality import FLAG_COLUMNS

            cols += list(FLAG_COLUMNS)
        return list(dict.fromkeys(c for c in cols if c))


@dataclass(frozen=True)
class Labels:
    """The global numbering the driver sends back to the partitions after *describe*."""

    strata: pd.Index | None
    groups: tuple[pd.Index, ...]  # per domain variable, its values in group order
    cell_keys: np.ndarray | None  # sorted keys of the cells present (product-space codes)
    cell_factor: np.ndarray | None  # g-weight of each cell (raking or another calibration)
    rake_variance: str = "calibrate"
    n_strata: int = 1

    @property
    def sizes(self) -> list[int]:
        return [1, *(len(g) for g in self.groups)]


# --------------------------------------------------------------------------- partitions
def _read(path, columns: list[str], wave, cleaning: Cleaning) -> tuple[pd.DataFrame, dict]:
    """One file's rows for ``wave`` after the pipeline's row-level cleaning, and what the
    cleaning did (``recoded`` per column, ``excluded`` per reason, ``rows`` before)."""
    from analysis.io import read_responses

    data = read_responses(path, columns=columns)
    if wave is not None:
        from analysis.validation import check_wave_column

        years = check_wave_column(data, str(path))
        data = data.loc[years == wave]
    report = {"recoded": {}, "excluded": {}, "rows": len(data)}
    if cleaning.valid_codes:
        from analysis.validation import check_answer_codes

        data, report["recoded"] = check_answer_codes(data, cleaning.valid_codes, str(path),
                                                     recode_invalid=cleaning.recode_invalid)
    hit = {c: code for c, code in cleaning.not_applicable.items() if c in data.columns}
    if hit:
        data = data.copy(deep=False)
        for col, code in hit.items():
            values = pd.to_numeric(data[col], errors="coerce")
            data[col] = data[col].mask((values == code).to_numpy(dtype=bool, na_value=False))
    if not cleaning.keep_flagged and len(data):
        from analysis.quality import exclude_flagged

        try:
            data, excluded = exclude_flagged(data)
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"{path}: {exc}") from None
        report["excluded"] = excluded.by_reason | {"total": excluded.total}
    return data, report


def _in_file(path, fn, *args):
    """``fn(*args)``, an error in it prefixed with the file's name (the design checks name the
    column, value and row; the file is what a folder of files adds)."""
    try:
        return fn(*args)
    except AnalysisInputError as exc:
        text = str(exc)
        raise AnalysisInputError(text if text.startswith(str(path)) else f"{path}: {text}"
                                 ) from None


def _weights(data: pd.DataFrame, plan: Plan) -> np.ndarray:
    if plan.weight is None:
        return np.ones(len(data))
    w = numeric_column(data, plan.weight, allow_missing=False, role="weight")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise AnalysisInputError(f"column '{plan.weight}': weight {w[i]:g} in "
                                 f"{row_name(data, i)} is negative")
    return w


def _missing(data: pd.DataFrame, col: str, what: str) -> None:
    bad = data[col].isna().to_numpy()
    if bad.any():
        raise AnalysisInputError(f"column '{col}': missing {what} in "
                                 f"{row_name(data, int(np.flatnonzero(bad)[0]))}")


def _cell_keys(data: pd.DataFrame, plan: Plan, margins_file: str) -> np.ndarray:
    """Each row's cell of the crossed weighting variables, as a code of the product space of
    the margin categories (the key :func:`analysis.weighting._cells` compacts)."""
    from analysis.weighting import category_codes

    key = np.zeros(len(data), dtype=np.int64)
    for var, cats in plan.rake:
        codes = category_codes(data, var, list(cats), plan.weighting_source,
                               where=margins_file)
        key = key * len(cats) + codes
    return key


def describe_partition(path, plan: Plan, margins_file: str = "") -> dict:
    """Pass 1 on one file: labels, cells and the checks of the design columns."""
    return _in_file(path, _describe, path, plan, margins_file)


def _describe(path, plan: Plan, margins_file: str) -> dict:
    data, cleaning = _read(path, plan.columns, plan.wave, plan.cleaning)
    out = {"rows": len(data), "cleaning": cleaning}
    if not len(data):
        return out
    w = _weights(data, plan)
    for col in plan.items:
        numeric_column(data, col, allow_missing=True, role="item")  # refuses text, inf
    if plan.strata:
        _missing(data, plan.strata, "stratum")
        strata = data[plan.strata]
    else:
        strata = pd.Series(np.zeros(len(data), dtype=np.int64), index=data.index)
    if plan.psu:
        _missing(data, plan.psu, "PSU")
        # in order of appearance (the replicate builders number PSUs so), with whether a row
        # of the PSU has a nonzero weight (R's degf of replicate weights counts those)
        pairs = pd.DataFrame({"stratum": strata.to_numpy(), "psu": data[plan.psu].to_numpy(),
                              "live": w != 0})
        out["psus"] = pairs.groupby(["stratum", "psu"], sort=False)["live"].any().reset_index()
    else:
        out["psus"] = strata.value_counts(sort=False).rename_axis("stratum").reset_index(
            name="rows")
    if plan.fpc:
        values = numeric_column(data, plan.fpc, allow_missing=False, role="fpc")
        frame = pd.DataFrame({"stratum": strata.to_numpy(), "fpc": values})
        ends = []
        for pick in ("idxmin", "idxmax"):
            at = getattr(frame.groupby("stratum", sort=False)["fpc"], pick)().to_numpy()
            ends.append(frame.loc[at].assign(row=[row_name(data, int(i)) for i in at],
                                             file=str(path)))
        out["fpc"] = tuple(ends)
    if plan.replicate_columns:
        _replicate_columns(data, plan)  # checked with the other design columns
    out["groups"] = [pd.unique(data[col].dropna()) for col in plan.by]
    key = _cell_keys(data, plan, margins_file) if plan.rake else np.zeros(len(data), np.int64)
    keys, cell = np.unique(key, return_inverse=True)
    out["cells"] = pd.DataFrame({
        "key": keys, "rows": np.bincount(cell, minlength=len(keys)),
        "weight": np.bincount(cell, w, minlength=len(keys)),
        "square": np.bincount(cell, w * w, minlength=len(keys)),
        "min": pd.Series(w).groupby(cell).min().to_numpy(),
        "max": pd.Series(w).groupby(cell).max().to_numpy()})
    return out


def _replicate_columns(data: pd.DataFrame, plan: Plan) -> np.ndarray:
    """``(n, R)`` the supplied replicate weights (each checked as the in-memory reader does)."""
    return np.column_stack([numeric_column(data, c, allow_missing=False,
                                           role="replicate weight")
                            for c in plan.replicate_columns])


def _group_codes(data: pd.DataFrame, plan: Plan, labels: Labels) -> list[np.ndarray]:
    """Per partition (whole sample, then each domain variable) each row's global group code
    (-1: in no group)."""
    codes = [np.zeros(len(data), dtype=np.int64)]
    for col, index in zip(plan.by, labels.groups, strict=True):
        codes.append(index.get_indexer(data[col]).astype(np.int64))
    return codes


def _design_codes(data: pd.DataFrame, plan: Plan, labels: Labels):
    """Each row's final weight, stratum code and cell code (0 without raking), and the
    per-row factor that makes the calibration's cell sums (R's ``before / after``, or
    ``1 / after`` for ``rake()``'s sweeps)."""
    base = _weights(data, plan)
    h = (labels.strata.get_indexer(data[plan.strata]).astype(np.int64) if plan.strata
         else np.zeros(len(data), dtype=np.int64))
    if labels.cell_keys is None:
        return base, h, None, None
    cell = np.searchsorted(labels.cell_keys, _cell_keys(data, plan, ""))
    after = base * labels.cell_factor[cell]
    top = 1.0 if labels.rake_variance == "rake" else base
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(after != 0, top / after, 0.0)
    return after, h, cell, after * ratio


def _item_columns(data: pd.DataFrame, plan: Plan):
    """Per item ``(values with 0 where missing, answered mask)`` (a proportion's values are
    its 0/1 indicator; with ``plan.indicators`` the indicator of the counted codes over the
    rows answering one of the domain's codes)."""
    for j, col in enumerate(plan.items):
        y = numeric_column(data, col, allow_missing=True, role="item")
        if plan.indicators:
            counted, domain = plan.indicators[j]
            answered = np.isin(y, domain)
            y = np.isin(y, counted).astype(float)
        else:
            answered = ~np.isnan(y)
            if plan.statistic == "proportion":
                y = np.isin(y, plan.levels).astype(float)
        yield np.where(answered, y, 0.0), answered


def _bins(key, weights, n):
    return np.bincount(key, weights, minlength=n + 1)[:n]


def _unit_sums(group: np.ndarray, n_groups: int, unit: np.ndarray, values: np.ndarray,
               factors: np.ndarray) -> np.ndarray:
    """``(c, G, R)``: per row of ``values`` ``(c, n)``, the sums over each group's rows
    (``group`` -1: in none) of the value times the row's unit's replicate factors
    (``factors`` ``(U, R)``): a sparse (group x unit) table times the factors."""
    import scipy.sparse as sp

    rows = np.flatnonzero(group >= 0)
    U = len(factors)
    out = []
    for v in values:
        table = sp.csr_matrix((v[rows], (group[rows], unit[rows])), shape=(n_groups, U))
        out.append(np.asarray(table @ factors))
    return np.stack(out)


@dataclass(frozen=True)
class Replicas:
    """What one file needs for its sums under every replicate weight."""

    n: int  # replicates
    index: pd.MultiIndex | None = None  # the file's PSUs (None: supplied columns)
    factors: np.ndarray | None = None  # (PSUs of the file, n) their replicate factors
    cell_factors: np.ndarray | None = None  # (cells, n): g-weights of calibrated replicates
    rank: bool = False  # send the R factor of the units' factors (for R's degf)


def _row_replicates(data: pd.DataFrame, plan: Plan, replicas: Replicas, h, cell):
    """Each row's unit, the units' ``(U, R)`` replicate factors and the weight of each row
    they multiply (the starting weight; 1 for supplied columns, which are the weights): a
    calibrated replicate's unit is a (unit, cell) part, whose factor takes its cell's g-weight
    in that replicate (as :meth:`analysis.replicates.ReplicateWeights.calibrated`)."""
    if replicas.index is None:
        unit, factors = np.arange(len(data)), _replicate_columns(data, plan)
        base = np.ones(len(data))
    else:
        unit, units, _ = _units(data, plan, h)
        factors = replicas.factors[replicas.index.get_indexer(units)]
        base = _weights(data, plan)
    if replicas.cell_factors is not None:
        C = len(replicas.cell_factors)
        unit, parts = compact_codes(unit * C + cell)
        factors = factors[parts // C] * replicas.cell_factors[parts % C]
    return unit, factors, base


def replicate_cell_partition(path, plan: Plan, labels: Labels, replicas: Replicas) -> dict:
    """The pass of calibrated replicates on one file: the ``(C, R)`` replicate weight totals
    of the weighting cells."""
    def cells():
        data, _ = _read(path, plan.columns, plan.wave, plan.cleaning)
        C = len(labels.cell_keys)
        if not len(data):
            return {"cells": np.zeros((C, replicas.n))}
        _, h, cell, _ = _design_codes(data, plan, labels)
        unit, factors, base = _row_replicates(data, plan, replicas, h, cell)
        return {"cells": _unit_sums(cell, C, unit, base[None], factors)[0]}

    return _in_file(path, cells)


def sum_partition(path, plan: Plan, labels: Labels, replicas: Replicas | None = None) -> dict:
    """Pass 2 on one file: the sums the estimates, the calibration and the stratum means
    need (arrays of fixed shapes, added up over partitions). With ``replicas`` also the sums
    of weighted values and weights under every replicate weight (``rep``,
    ``(2, k, G, R)``)."""
    return _in_file(path, _sums, path, plan, labels, replicas)


def _sums(path, plan: Plan, labels: Labels, replicas: Replicas | None = None) -> dict:
    data, _ = _read(path, plan.columns, plan.wave, plan.cleaning)
    k, G, H = len(plan.items), sum(labels.sizes), labels.n_strata
    C = 0 if labels.cell_keys is None else len(labels.cell_keys)
    out = {name: np.zeros((k, G)) for name in ("wsum", "ysum", "y2", "counts")}
    for name in ("sy", "sw", "rows"):
        out[name] = np.zeros((k, G, H))
    out["cy"] = np.zeros((k, G, C))
    out["cw"] = np.zeros((k, G, C))
    out["group_rows"] = np.zeros(G)
    out["after_cells"] = np.zeros((H, C))
    out["respondents"] = np.zeros((G, len(plan.respondents)))
    if replicas is not None:
        out["rep"] = np.zeros((2, k, G, replicas.n))
        out["replicate_r"] = []  # a list: added up, the files' R factors are concatenated
    if not len(data):
        return out
    a, h, cell, v = _design_codes(data, plan, labels)
    if replicas is not None:
        local, factors, base = _row_replicates(data, plan, replicas, h, cell)
        if replicas.rank:
            from scipy.linalg import qr

            live = np.unique(local[base != 0])
            out["replicate_r"] = [qr(factors[live], mode="r")[0]] if len(live) else []
    positive = (a > 0).astype(float)
    codes = _group_codes(data, plan, labels)
    offsets = np.cumsum([0, *labels.sizes])
    if cell is not None:
        out["after_cells"] = _bins(h * C + cell, a, H * C).reshape(H, C)
    answers = []
    for j, (y, answered) in enumerate(_item_columns(data, plan)):
        if plan.respondents:
            answers.append(answered)
        aw = np.where(answered, a, 0.0)
        ay = aw * y
        vw = np.where(answered, v, 0.0) if cell is not None else None
        for q, c in enumerate(codes):
            g, sl = labels.sizes[q], slice(offsets[q], offsets[q + 1])
            gk = np.where(c >= 0, c, g)
            out["wsum"][j, sl] = _bins(gk, aw, g)
            out["ysum"][j, sl] = _bins(gk, ay, g)
            out["y2"][j, sl] = _bins(gk, ay * y, g)
            out["counts"][j, sl] = _bins(gk, positive * answered, g)
            hk = np.where(c >= 0, c * H + h, g * H)
            out["sy"][j, sl] = _bins(hk, ay, g * H).reshape(g, H)
            out["sw"][j, sl] = _bins(hk, aw, g * H).reshape(g, H)
            out["rows"][j, sl] = _bins(hk, answered.astype(float), g * H).reshape(g, H)
            if "rep" in out:
                bw = np.where(answered, base, 0.0)
                out["rep"][:, j, sl] = _unit_sums(c, g, local, np.vstack([bw * y, bw]),
                                                  factors)
            if cell is not None:
                ck = np.where(c >= 0, c * C + cell, g * C)
                out["cy"][j, sl] = _bins(ck, vw * y, g * C).reshape(g, C)
                out["cw"][j, sl] = _bins(ck, vw, g * C).reshape(g, C)
            if j == 0:
                out["group_rows"][sl] = _bins(gk, positive, g)
    for r, subset in enumerate(plan.respondents):
        any_answer = np.logical_or.reduce([answers[j] for j in subset]).astype(float)
        for q, c in enumerate(codes):
            gk = np.where(c >= 0, c, labels.sizes[q])
            out["respondents"][offsets[q]:offsets[q + 1], r] = _bins(gk, any_answer,
                                                                     labels.sizes[q])
    return out


def square_partition(path, plan: Plan, labels: Labels, fit: dict) -> dict:
    """Pass 3 on one file: per stratum the sums of squared deviations of the PSU totals of the
    linearised values (after the calibration residuals) from their stratum means, over the
    PSUs wholly in this file, and (with ``fit["ranges"]``) their cross-products within each
    block of groups, scaled by the strata's variance factors; per (domain group, stratum) the
    PSUs with a row of positive weight and per (item, stratum) the PSUs with an answer (the
    degrees of freedom of domains and items); the partial totals and counts of the PSUs
    shared with other files."""
    return _in_file(path, _squares, path, plan, labels, fit)


def _squares(path, plan: Plan, labels: Labels, fit: dict) -> dict:
    import scipy.sparse as sp

    data, _ = _read(path, plan.columns, plan.wave, plan.cleaning)
    k, G, H = len(plan.items), sum(labels.sizes), labels.n_strata
    m = k * G
    ranges = fit["ranges"] or []
    if not len(data):
        return {"ss": np.zeros((m, H)), "reached": np.zeros((G + k, H)), "shared": None,
                "cov": [np.zeros((k, g1 - g0, k, g1 - g0)) for g0, g1 in ranges]}
    a, h, cell, _ = _design_codes(data, plan, labels)
    local, units, unit_stratum = _units(data, plan, h)
    P = len(unit_stratum)
    center, scale, centred = fit["center"], fit["scale"], fit["centred"]
    codes = _group_codes(data, plan, labels)
    offsets = np.cumsum([0, *labels.sizes])
    keys = [np.where(c >= 0, c * P + local, labels.sizes[q] * P) for q, c in enumerate(codes)]
    # rows of positive weight per (group, PSU), then answers per (item, PSU) in the whole sample
    reach = np.zeros((G + k, P))
    positive = (a > 0).astype(float)
    for q, pk in enumerate(keys):
        g = labels.sizes[q]
        reach[offsets[q]:offsets[q + 1]] = _bins(pk, positive, g * P).reshape(g, P)
    t = np.zeros((k, G, P))
    for j, (y, answered) in enumerate(_item_columns(data, plan)):
        aw = np.where(answered, a, 0.0)
        ay = aw * y
        reach[G + j] = _bins(local, answered.astype(float), P)
        for q, pk in enumerate(keys):
            g, sl = labels.sizes[q], slice(offsets[q], offsets[q + 1])
            py = _bins(pk, ay, g * P).reshape(g, P)
            if centred:
                py -= _bins(pk, aw, g * P).reshape(g, P) * center[j, sl, None]
            t[j, sl] = py * scale[j, sl, None]
    t = t.reshape(m, P)
    if cell is not None:
        C = len(labels.cell_keys)
        unit_cell = sp.csr_matrix((a, (local, cell)), shape=(P, C))
        for f in fit["fits"]:
            t -= (unit_cell @ f).T
    shared = None
    owned = np.ones(P, dtype=bool)
    if fit["shared"] is not None and units is not None:
        is_shared = np.asarray(units.isin(fit["shared"]))
        if is_shared.any():
            owned = ~is_shared
            shared = (units[is_shared], np.vstack([t[:, is_shared], reach[:, is_shared]]))
    strata = unit_stratum[owned]
    dev = t[:, owned] - fit["means"][:, strata]
    cov = _cross_products(dev, fit["root"][strata], ranges, k, G)
    np.square(dev, out=dev)
    in_stratum = sp.csr_matrix((np.ones(len(strata)), (strata, np.arange(len(strata)))),
                               shape=(H, len(strata)))
    ss = (in_stratum @ dev.T).T
    reached = (in_stratum @ (reach[:, owned] > 0).astype(float).T).T
    return {"ss": np.asarray(ss), "reached": np.asarray(reached), "shared": shared,
            "cov": cov}


def _units(data: pd.DataFrame, plan: Plan, h: np.ndarray):
    """Each row's PSU in this file (``0..P-1``), the PSUs as (stratum code, PSU label) pairs
    (None when each row is its own PSU) and each PSU's stratum code."""
    if not plan.psu:
        return np.arange(len(data), dtype=np.int64), None, h
    # PSUs nested in strata: a PSU is a (stratum, PSU label) pair
    pc, pu = pd.factorize(data[plan.psu])
    local, pairs = compact_codes(h * len(pu) + pc)
    unit_stratum = pairs // len(pu)
    units = pd.MultiIndex.from_arrays([unit_stratum, np.asarray(pu)[pairs % len(pu)]])
    return local.astype(np.int64), units, unit_stratum


def _cross_products(dev: np.ndarray, root: np.ndarray, ranges: list, k: int, G: int) -> list:
    """Per block of groups ``(g0, g1)`` the ``(k, nb, k, nb)`` sums over PSUs of the products
    of the centred PSU totals ``dev`` ``(k G, P)``, each PSU's scaled by ``root`` ``(P,)`` (the
    square root of its stratum's variance factor)."""
    if not ranges:
        return []
    d = (dev * root).reshape(k, G, -1)
    out = []
    for g0, g1 in ranges:
        nb = g1 - g0
        rows = d[:, g0:g1].reshape(k * nb, -1)
        out.append((rows @ rows.T).reshape(k, nb, k, nb))
    return out


# --------------------------------------------------------------------------- reduce helpers
def _add(a: dict, b: dict) -> dict:
    return {key: a[key] + b[key] for key in a}


def _tree_sum(tasks: list):
    """The sum of delayed dicts of arrays, added pairwise (a tree: no task holds them all)."""
    from dask import delayed

    add = delayed(_add, pure=True)
    while len(tasks) > 1:
        tasks = [add(tasks[i], tasks[i + 1]) if i + 1 < len(tasks) else tasks[i]
                 for i in range(0, len(tasks), 2)]
    return tasks[0]


def _merge_squares(a: dict, b: dict) -> dict:
    shared = [s for s in (a["shared"], b["shared"]) if s is not None]
    if len(shared) == 2:
        shared = [(shared[0][0].append(shared[1][0]), np.hstack([shared[0][1], shared[1][1]]))]
    return {"ss": a["ss"] + b["ss"], "reached": a["reached"] + b["reached"],
            "cov": [x + y for x, y in zip(a["cov"], b["cov"], strict=True)],
            "shared": shared[0] if shared else None}


def _compute(tasks):
    import dask

    return dask.compute(*tasks) if isinstance(tasks, list) else dask.compute(tasks)[0]


# --------------------------------------------------------------------------- the engine
@dataclass
class PartitionedResult:
    """What :func:`estimate_partitioned` returns: the :class:`analysis.results.Estimate`, the
    raking report (or None), the weighting diagnostics and what the cleaning did."""

    estimate: object
    weighting: object
    diagnostics: object
    rows: int
    recoded: dict
    excluded: dict
    # R's degf() of each domain group's subset design (first-stage PSUs with a row of positive
    # weight in the group minus their strata), of each item's answered rows in the whole sample
    # (any weight), and the rows per group answering any item of each ``respondents`` set
    group_df: np.ndarray | None = None
    item_df: np.ndarray | None = None
    respondents: np.ndarray | None = None
    weight_sums: np.ndarray | None = None  # (G, k) weights of the answers
    groups: tuple[tuple[str, str], ...] = ()  # (domain variable, group label) of each of the G


def estimate_partitioned(files: Sequence, items, statistic: str = "mean", *,
                         weights: str | None = None, strata: str | None = None,
                         psu: str | None = None, fpc: str | None = None, margins=None,
                         rescale: bool = False, rake_variance: str = "calibrate",
                         calfun: str = "raking", bounds=None, max_iter: int | None = None,
                         epsilon: float = 1e-10, by=None,
                         levels=None, na_rm: bool = True, deff=True, lonely_psu: str = "fail",
                         wave: int | None = None, cleaning: Cleaning | None = None,
                         source: str | None = None, covariance: str | None = None,
                         respondents: Sequence[Sequence[int]] = (),
                         linearisation: tuple[np.ndarray, np.ndarray] | None = None,
                         indicators: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
                         replicates=None, poststratify: pd.DataFrame | None = None,
                         target: str = "target") -> PartitionedResult:
    """Estimate ``statistic`` of ``items`` over the Parquet ``files`` (one partition each),
    as ``SurveyDesign(all rows, weights, strata, psu, fpc).calibrate(margins, calfun, bounds,
    max_iter=max_iter, variance=rake_variance).<statistic>(items, by=by)`` would (raking by
    default), on the active Dask scheduler (see the module docstring).

    ``weights`` is the starting weight (the base weight when ``margins`` are given); ``wave``
    restricts to that wave's rows; ``deff`` may also be a function of the final weights' sum
    and the rows that returns the ``deff`` argument (the command line's ``--deff auto``);
    ``source`` (the folder or pattern) starts the messages about the whole data set (a lonely
    PSU, a margin category without respondents).

    ``covariance`` (``"group"``, ``"by"``, ``"all"``) asks for the covariances of the estimates
    as :func:`analysis.estimates.domain_estimates` computes them; ``respondents`` (sets of item
    positions) for the rows per domain group answering any item of each set
    (:attr:`PartitionedResult.respondents`). ``linearisation`` ``(center, scale)`` ``(k, G)``
    replaces the linearised values of a mean, ``(y - mean) / weight sum``, by
    ``(y - center) * scale`` in the variances and covariances (the estimates stay the means):
    the influence values of a regression on a wave-level regressor (`trend`).
    ``indicators`` (a mean's, one ``(counted codes, domain codes)`` per item; an item may
    repeat) estimate per item the share of the answers in ``counted`` among the rows answering
    one of ``domain`` (:func:`analysis.distributions.answer_distributions`' shares).

    ``poststratify`` (a table of the crossed cells with their ``target`` column) replaces
    ``margins``: ``SurveyDesign(...).poststratify(poststratify, target)`` in memory.

    ``replicates`` (an :class:`analysis.replicates.ReplicateSpec`) takes the variances from
    replicate weights, as ``ReplicateSpec.apply`` in memory: built by its ``method`` (jk1,
    jkn, brr, bootstrap, subbootstrap; the builders run on the PSUs in their order of
    appearance, files in order, and each file adds its (group, PSU) sums times its PSUs'
    replicate factors) or read from its ``columns`` (names, not a pattern: each file adds its
    rows' group sums under every column), so a replicate's estimate needs no further pass.
    """
    from dask import delayed

    from analysis.estimates import STATISTICS, _check_levels, estimate_from_result
    from analysis.estimates import estimates_from_sums as finish
    from analysis.variance import LONELY_PSU_RULES
    from analysis.weighting import calibration_method

    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}")
    if lonely_psu not in LONELY_PSU_RULES:
        raise AnalysisInputError(
            f"lonely_psu '{lonely_psu}' is not one of {', '.join(LONELY_PSU_RULES)}")
    if not isinstance(psu, str | None) or not isinstance(fpc, str | None):
        raise AnalysisInputError("the Dask engine takes one PSU column (a one-stage design); "
                                 "estimate a multistage design in memory")
    check_replicates(replicates, psu, linearisation)
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise AnalysisInputError("no items to estimate")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if statistic == "proportion":
        levels = tuple(_check_levels(levels))
    if indicators and (statistic != "mean" or len(indicators) != len(items)):
        raise ValueError("indicators: a mean's, one (counted, domain) pair per item")
    source = source or (str(files[0].parent) if len(files) else "the data")
    margins = _margins(margins)
    if margins is not None:
        bounds, max_iter = calibration_method(calfun, bounds, rake_variance, max_iter)
    rake = tuple((v, tuple(margins.categories(v))) for v in margins.variables) if margins else ()
    if poststratify is not None:
        if margins is not None:
            raise AnalysisInputError("give margins or a post-stratification table, not both")
        from analysis.weighting import RAKING_MAX_ITER, poststratification_table

        poststratify = poststratification_table(poststratify, target)
        rake = tuple(zip(poststratify.variables, poststratify.categories, strict=True))
        max_iter, epsilon = RAKING_MAX_ITER, 1e-10  # its replicates' (as in memory)
    plan = Plan(items=tuple(items), statistic=statistic, levels=levels, by=tuple(by),
                weight=weights, strata=strata, psu=psu, fpc=fpc, rake=rake, wave=wave,
                cleaning=cleaning or Cleaning(),
                respondents=tuple(tuple(int(j) for j in r) for r in respondents),
                indicators=tuple((tuple(map(float, c)), tuple(map(float, d)))
                                 for c, d in indicators),
                replicate_columns=tuple(getattr(replicates, "columns", None) or ()),
                weighting_source="margins" if poststratify is None
                else "post-stratification table")
    margins_file = "" if margins is None or margins.source == "margins" else margins.source
    files = [Path(f) for f in files]

    # pass 1: labels, cells, checks
    parts = _compute([delayed(describe_partition, pure=True)(f, plan, margins_file)
                      for f in files])
    parts = [(f, p) for f, p in zip(files, parts, strict=True) if p["rows"]]
    rows = sum(p["rows"] for _, p in parts)
    recoded, excluded = _cleaning_totals([p for _, p in parts])
    if not parts:
        where = f" of wave {wave}" if wave is not None else ""
        raise AnalysisInputError(f"{source}: no rows{where} to estimate from")
    structure, strata_index, shared = _structure(parts, plan, lonely_psu, source)
    groups = tuple(_group_index([p["groups"][q] for _, p in parts]) for q in range(len(by)))
    cells = pd.concat([p["cells"] for _, p in parts]).groupby("key", sort=True).agg(
        rows=("rows", "sum"), weight=("weight", "sum"), square=("square", "sum"),
        min=("min", "min"), max=("max", "max"))
    weighting, factor, calibration, targets = None, None, None, None
    if margins is not None:
        factor, weighting, calibration, targets = _calibrate(
            cells, margins, rows, rescale, calfun, bounds, max_iter, epsilon, rake_variance,
            source)
    elif poststratify is not None:
        factor, weighting, calibration, targets = _poststratify(cells, poststratify, rows)
    diagnostics = _diagnostics(cells, factor)
    if callable(deff):
        deff = deff(diagnostics.weight_sum, rows)
    labels = Labels(strata=strata_index, groups=groups,
                    cell_keys=cells.index.to_numpy() if plan.rake else None,
                    cell_factor=factor, rake_variance=rake_variance,
                    n_strata=structure.n_strata)
    files = [f for f, _ in parts]
    reps, replicas = None, [None] * len(files)
    if replicates is not None:
        reps, replicas = _replicas(parts, plan, structure, strata_index, replicates, labels,
                                   targets, max_iter, epsilon)

    # pass 2: sums
    sums = _compute(_tree_sum([delayed(sum_partition, pure=True)(f, plan, labels, r)
                               for f, r in zip(files, replicas, strict=True)]))
    k, G = len(items), sum(labels.sizes)
    if reps is not None:
        if replicas[0].rank:
            reps = _stacked_replicates(reps, sums["replicate_r"])
        return _replicate_result(reps, sums, items, statistic, by, groups, labels, levels,
                                 na_rm, deff, covariance, weighting, diagnostics, rows,
                                 recoded, excluded)
    m = k * G
    total = statistic == "total"
    wsum, ysum = sums["wsum"], sums["ysum"]
    has_weight = wsum > 0
    inv = np.divide(1.0, wsum, out=np.zeros_like(wsum), where=has_weight)
    est = ysum if total else np.where(has_weight, ysum * inv, np.nan)
    # the linearised values are (y - center) * scale: a total's y, a mean's (y - mean) / sum w
    if linearisation is not None:
        center, scale = (np.broadcast_to(np.asarray(v, dtype=float), (k, G))
                         for v in linearisation)
    elif total:
        center, scale = np.zeros((k, G)), np.ones((k, G))
    else:
        center, scale = np.where(has_weight, est, 0.0), inv
    stratum_sums = ((sums["sy"] - center[:, :, None] * sums["sw"])
                    * scale[:, :, None]).reshape(m, -1)
    fits = []
    if calibration is not None:
        cell_sums = [((sums["cy"] - center[:, :, None] * sums["cw"])
                      * scale[:, :, None]).reshape(m, -1).T]
        fits = calibration.fitted_cells(calibration.coefficients(cell_sums))
        for f in fits:
            stratum_sums = stratum_sums - (sums["after_cells"] @ f).T
    means = structure.stratum_means_t(stratum_sums)

    # pass 3: squared deviations (and cross-products) of the PSU totals
    from analysis.estimates import _average_factor, _undefined_to_nan, covariance_blocks
    from analysis.results import covariance_ranges

    ranges = covariance_ranges(covariance, labels.sizes)
    psu_weight, _ = structure.gram_weights()
    root = np.sqrt(psu_weight[structure.unit_stratum_starts])  # per stratum
    fit = {"center": center, "scale": scale, "centred": bool(center.any()), "fits": fits,
           "means": means, "shared": shared, "ranges": ranges, "root": root}
    squares = _compute(_tree_merge([delayed(square_partition, pure=True)(f, plan, labels, fit)
                                    for f in files]))
    ss, reached, cross = squares["ss"], squares["reached"], squares["cov"]
    if squares["shared"] is not None:
        keys, partial = squares["shared"]
        codes, _ = pd.factorize(keys)
        totals = np.zeros((len(partial), int(codes.max()) + 1))
        np.add.at(totals.T, codes, partial.T)
        first = np.unique(codes, return_index=True)[1]
        h = keys[first].get_level_values(0).to_numpy(dtype=np.int64)
        dev = totals[:m] - means[:, h]
        for c, extra in zip(cross, _cross_products(dev, root[h], ranges or [], k, G),
                            strict=True):
            c += extra
        np.add.at(ss.T, h, (dev ** 2).T)
        np.add.at(reached.T, h, (totals[m:] > 0).T)
    present = None
    if (structure.lonely_psu == "average" and structure.lonely.any()
            and calibration is None):
        present = sums["rows"].reshape(m, -1) > 0
    var = structure.variance_from_squares_t(ss, present).reshape(k, G)
    res = finish(est.T, var.T, sums["counts"].T, wsum.T, sums["y2"].T, ysum.T, total=total,
                 deff=deff, group_rows=None if na_rm else sums["group_rows"])
    if ranges is not None:
        factor = _average_factor(structure, present, m).reshape(k, G).T
        res["cov"] = _undefined_to_nan(covariance_blocks(ranges, cross, factor, var.T),
                                       res["var"])
    group_labels = [("", [""])] + [(col, [_label(v) for v in index])
                                   for col, index in zip(by, groups, strict=True)]
    estimate = estimate_from_result(res, items, group_labels,
                                    df=float(structure.n_psus - structure.n_strata),
                                    statistic=statistic, deff=deff,
                                    levels=list(levels) if levels else None,
                                    covariance=covariance)
    psus = reached.sum(axis=1)
    strata_reached = (reached > 0).sum(axis=1)
    return PartitionedResult(estimate=estimate, weighting=weighting,
                             diagnostics=diagnostics, rows=rows,
                             recoded=recoded, excluded=excluded,
                             group_df=(psus - strata_reached)[:G].astype(np.int64),
                             item_df=(psus - strata_reached)[G:].astype(np.int64),
                             respondents=sums["respondents"], weight_sums=wsum.T,
                             groups=tuple((by_name, label) for by_name, names in group_labels
                                          for label in names))


def _replicas(parts: list, plan: Plan, structure, strata_index, spec, labels: Labels,
              targets, max_iter: int, epsilon: float) -> tuple:
    """The replicate weights (their scales and, when known, degrees of freedom) and per file
    its :class:`Replicas`; calibrated replicates (``targets``, the margins' cells) take a pass
    that adds up the replicate weights of the cells, and the driver calibrates each replicate
    on them (:func:`analysis.replicates.replicate_cell_factors`)."""
    from dataclasses import replace

    from analysis.replicates import replicate_cell_factors

    if plan.replicate_columns:
        reps = _supplied_replicates(spec)
        replicas = [Replicas(reps.n_replicates)] * len(parts)
    else:
        reps, replicas = _replicate_factors(parts, plan, structure, strata_index, spec)
    files = [f for f, _ in parts]
    if targets is not None:
        from dask import delayed

        totals = _compute(_tree_sum([delayed(replicate_cell_partition, pure=True)(
            f, plan, labels, r) for f, r in zip(files, replicas, strict=True)]))
        g = replicate_cell_factors(totals["cells"], targets, max_iter, epsilon)
        replicas = [replace(r, cell_factors=g) for r in replicas]
    # R's degf: known for a jackknife, else the rank of the replicate factors, which the files
    # send when the driver does not hold them (supplied columns, calibrated replicates)
    rank = reps.degf is None and (bool(plan.replicate_columns) or targets is not None)
    return reps, [replace(r, rank=rank) for r in replicas]


def _stacked_replicates(reps, r_factors: list):
    """``reps`` with, standing for its units' factors, the R factor of the files' R factors
    (the same rank: R's ``degf``)."""
    from dataclasses import replace

    from scipy.linalg import qr

    stacked = qr(np.vstack(r_factors), mode="r")[0]
    return replace(reps, factors=stacked, unit=np.arange(len(stacked)),
                   base=np.ones(len(stacked)))


def check_replicates(replicates, psu, linearisation) -> None:
    """One line for the replicate weights the engine does not build (docs/analysis.md)."""
    if replicates is None:
        return
    if getattr(replicates, "method", None) is None:
        if isinstance(replicates.columns, str):
            raise AnalysisInputError(f"--repweights '{replicates.columns}': give the column "
                                     "names (the command line matches the pattern)")
    elif psu is None:
        raise AnalysisInputError("replicate weights on the Dask engine need --psu (with each "
                                 "row its own PSU the replicate factors are a rows x "
                                 "replicates matrix); use --engine memory")
    if linearisation is not None:
        raise AnalysisInputError("replicate weights do not take a linearisation")


@dataclass(frozen=True)
class _PSUDesign:
    """What the replicate builders (:data:`analysis.replicates.REPLICATE_METHODS`) read of a
    design, for a design whose rows are its PSUs in order of appearance: the first-stage
    structure, a weight per PSU (1 when a row of it has a nonzero weight, else 0: what R's
    ``degf`` of the replicates counts), the strata and fpc columns."""

    structure: object
    weights: np.ndarray
    strata_column: str | None
    fpc_columns: tuple[str, ...]
    calibrated: bool = False


def _replicate_factors(parts: list, plan: Plan, structure, strata_index, spec):
    """The design's :class:`ReplicateWeights` (one unit per PSU, in order of appearance over
    the files in order, as the in-memory builders number them) and per file its PSUs and
    their rows of the replicate factors."""
    from analysis.replicates import replicate_weights
    from analysis.variance import PSUStructure

    frames = [p["psus"] for _, p in parts]
    pairs = pd.concat(frames, ignore_index=True)
    pairs["stratum"] = (strata_index.get_indexer(pairs["stratum"]) if plan.strata
                        else np.zeros(len(pairs), dtype=np.int64))
    live = pairs.groupby(["stratum", "psu"], sort=False)["live"].any()
    stratum = live.index.get_level_values(0).to_numpy(dtype=np.int64)
    code = np.empty(len(live), dtype=np.int64)  # numbered stratum by stratum
    code[np.argsort(stratum, kind="stable")] = np.arange(len(live))
    psus = PSUStructure(psu=code, psu_stratum=np.sort(stratum), n_psu=structure.n_psu,
                        fpc_factor=structure.fpc_factor,
                        stratum_labels=structure.stratum_labels,
                        lonely_psu=structure.lonely_psu)
    design = _PSUDesign(psus, live.to_numpy(dtype=float), plan.strata,
                        (plan.fpc,) if plan.fpc else ())
    reps = replicate_weights(design, spec.method, spec.count, spec.fay_rho or 0.0, spec.seed,
                             spec.mse)
    replicas = []
    for frame in frames:
        own = pd.MultiIndex.from_arrays([
            strata_index.get_indexer(frame["stratum"]) if plan.strata
            else np.zeros(len(frame), dtype=np.int64), frame["psu"].to_numpy()])
        replicas.append(Replicas(reps.n_replicates, own,
                                 reps.factors[reps.unit[live.index.get_indexer(own)]]))
    return reps, replicas


def _supplied_replicates(spec):
    """The :class:`ReplicateWeights` of supplied columns for the reduce: their scales
    (:func:`analysis.replicates.supplied_scales`); the factors come from the files."""
    from analysis.replicates import ReplicateWeights, supplied_scales

    columns = list(spec.columns)
    scale, rscales = supplied_scales(columns, spec.type, spec.scale, spec.rscales,
                                     spec.fay_rho)
    return ReplicateWeights(spec.type, np.zeros((0, len(columns))), np.zeros(0), np.zeros(0),
                            scale=scale, rscales=rscales, mse=spec.mse,
                            rho=spec.fay_rho if spec.type == "Fay" else None,
                            columns=tuple(columns))


def _replicate_result(reps, sums: dict, items, statistic, by, groups, labels, levels, na_rm,
                      deff, covariance, weighting, diagnostics, rows, recoded, excluded):
    """The :class:`PartitionedResult` of a design with replicate weights, from the sums pass
    (:func:`analysis.replicates.replicate_estimates_from_sums`, the in-memory reduce)."""
    from analysis.estimates import estimate_from_result, replicate_interval_note
    from analysis.replicates import replicate_estimates_from_sums

    res = replicate_estimates_from_sums(reps, sums["rep"], sums["ysum"], sums["wsum"],
                                        sums["y2"], sums["counts"], sums["group_rows"],
                                        labels.sizes, total=statistic == "total", na_rm=na_rm,
                                        deff=deff, covariance=covariance)
    group_labels = [("", [""])] + [(col, [_label(v) for v in index])
                                   for col, index in zip(by, groups, strict=True)]
    estimate = estimate_from_result(res, items, group_labels, df=reps.df, statistic=statistic,
                                    deff=deff, levels=list(levels) if levels else None,
                                    covariance=covariance, **replicate_interval_note(reps))
    return PartitionedResult(estimate=estimate, weighting=weighting, diagnostics=diagnostics,
                             rows=rows, recoded=recoded, excluded=excluded,
                             respondents=sums["respondents"], weight_sums=sums["wsum"].T)


def _tree_merge(tasks: list):
    from dask import delayed

    merge = delayed(_merge_squares, pure=True)
    while len(tasks) > 1:
        tasks = [merge(tasks[i], tasks[i + 1]) if i + 1 < len(tasks) else tasks[i]
                 for i in range(0, len(tasks), 2)]
    return tasks[0]


def _margins(margins):
    if margins is None:
        return None
    from analysis.margins import Margins

    if isinstance(margins, str | Path):
        from analysis.io import read_margins

        return read_margins(margins)
    return margins if isinstance(margins, Margins) else Margins(pd.DataFrame(margins))


def _label(value) -> str:
    from analysis.estimates import _label as label

    return label(value)


def _group_index(uniques: list) -> pd.Index:
    """The groups of a domain variable in the in-memory engine's order (sorted values)."""
    values = pd.unique(np.concatenate([np.asarray(u, dtype=object) for u in uniques]))
    _, ordered = pd.factorize(pd.Series(values).infer_objects(), sort=True)
    return pd.Index(ordered)


def _cleaning_totals(parts: list[dict]) -> tuple[dict, dict]:
    recoded, excluded = {}, {}
    for p in parts:
        for key, total in (("recoded", recoded), ("excluded", excluded)):
            for col, n in p["cleaning"][key].items():
                total[col] = total.get(col, 0) + n
    if excluded:
        excluded["rows"] = sum(p["cleaning"]["rows"] for p in parts)
    return recoded, excluded


def _structure(parts: list, plan: Plan, lonely_psu: str, source: str):
    """The design's :class:`PSUStructure` (PSU counts per stratum, fpc factors, lonely PSUs)
    from the partitions' (stratum, PSU) pairs, the strata's global index (None without
    strata) and the pairs that lie in several files (None when there are none)."""
    from analysis.design import stratum_fpc_factors
    from analysis.variance import PSUStructure

    frames = [p["psus"] for _, p in parts]
    if plan.strata:
        stratum_values = pd.unique(pd.concat([f["stratum"] for f in frames], ignore_index=True))
        _, index = pd.factorize(pd.Series(stratum_values).infer_objects(), sort=True)
        index = pd.Index(index)
    else:
        index = pd.Index([0])
    H = len(index)
    shared = None
    if plan.psu:
        pairs = pd.concat(frames, ignore_index=True)
        pairs["stratum"] = index.get_indexer(pairs["stratum"])
        files_per_pair = pairs.groupby(["stratum", "psu"], sort=False).size()
        n_psu = np.bincount(files_per_pair.index.get_level_values(0).to_numpy(dtype=np.int64),
                            minlength=H)
        many = files_per_pair[files_per_pair > 1]
        shared = many.index if len(many) else None
    else:
        counts = pd.concat(frames, ignore_index=True)
        n_psu = np.bincount(index.get_indexer(counts["stratum"]), counts["rows"].to_numpy(),
                            minlength=H).astype(np.int64)
    factor = np.ones(H)
    if plan.fpc:
        lo = pd.concat([p["fpc"][0] for _, p in parts], ignore_index=True)
        hi = pd.concat([p["fpc"][1] for _, p in parts], ignore_index=True)
        lo = lo.loc[lo.groupby(index.get_indexer(lo["stratum"]))["fpc"].idxmin()]
        hi = hi.loc[hi.groupby(index.get_indexer(hi["stratum"]))["fpc"].idxmax()]
        lo_h = lo.set_index(index.get_indexer(lo["stratum"])).sort_index()
        hi_h = hi.set_index(index.get_indexer(hi["stratum"])).sort_index()

        def where(h: int, value: float) -> str:
            row = lo_h.loc[h] if lo_h.loc[h, "fpc"] == value else hi_h.loc[h]
            return f"{row['row']} of {row['file']}"

        factor = stratum_fpc_factors(lo_h["fpc"].to_numpy(), hi_h["fpc"].to_numpy(), n_psu,
                                     np.asarray(index, dtype=object), plan.fpc, where)
    labels = np.asarray(index, dtype=object) if plan.strata else np.array(["(all)"], object)
    structure = PSUStructure(psu=np.zeros(0, dtype=np.int64),
                             psu_stratum=np.repeat(np.arange(H), n_psu), n_psu=n_psu,
                             fpc_factor=factor, stratum_labels=labels, lonely_psu=lonely_psu)
    try:
        structure.check_lonely(plan.strata)
    except AnalysisInputError as exc:
        raise AnalysisInputError(f"{source}: {exc}") from None
    return structure, (index if plan.strata else None), shared


def _calibrate(cells: pd.DataFrame, margins, rows: int, rescale: bool, calfun: str, bounds,
               max_iter: int, epsilon: float, variance: str, source: str):
    """Calibrate on the cell table (the in-memory engine's :func:`analysis.weighting.
    cell_factors`: raking, or R's ``grake`` for another calfun or bounds): ``(g-weight per
    cell, WeightingReport, Calibration)``. The g-weights are constant within cells, so the
    calibration's variance runs on cell sums too (:meth:`Calibration.from_cells`)."""
    from analysis.variance import Calibration
    from analysis.weighting import (
        CalibrationTargets,
        WeightingReport,
        cell_factors,
        check_category_support,
        rake_model,
    )

    targets = margins.targets(sample_size=rows, rescale=rescale)
    variables = list(margins.variables)
    cell_cats = _cell_categories(cells, [len(targets[v]) for v in variables])
    base = cells["weight"].to_numpy()
    count = cells["rows"].to_numpy()
    tvecs = []
    for v, var in enumerate(variables):
        t = targets[var].to_numpy(dtype=float)
        try:
            check_category_support(margins, var, list(targets[var].index), t,
                                   np.bincount(cell_cats[:, v], base, minlength=len(t)),
                                   np.bincount(cell_cats[:, v], count, minlength=len(t)))
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"{source}: {exc}") from None
        tvecs.append(t)
    spec = CalibrationTargets(tuple(variables), np.arange(len(base)), cell_cats, tuple(tvecs),
                              tuple(tuple(targets[v].index) for v in variables), calfun, bounds)
    g, iters, ab, rel, scale = cell_factors(base, spec, max_iter, epsilon)
    d = _diagnostics(cells, g)
    raking = spec.proportional_fitting
    report = WeightingReport(method="rake" if raking else "calibrate", iterations=iters,
                             max_margin_error=float(ab.max()),
                             max_relative_error=float(rel.max()), converged=True,
                             epsilon=epsilon, weight_sum=d.weight_sum, weight_min=d.weight_min,
                             weight_max=d.weight_max, calfun=None if raking else calfun,
                             bounds=None if raking else bounds,
                             rescaled=None if raking else scale)
    calibration = Calibration.from_cells(rake_model(cell_cats, tvecs), base, count,
                                         cell_cats if variance == "rake" else None)
    return g, report, calibration, spec


def _cell_categories(cells: pd.DataFrame, sizes: list[int]) -> np.ndarray:
    """``(C, V)`` each cell's category of each weighting variable (from its key)."""
    rest = cells.index.to_numpy(dtype=np.int64).copy()
    cell_cats = np.empty((len(rest), len(sizes)), dtype=np.int64)
    for v in range(len(sizes) - 1, -1, -1):
        cell_cats[:, v] = rest % sizes[v]
        rest //= sizes[v]
    return cell_cats


def _poststratify(cells: pd.DataFrame, table, rows: int):
    """Post-stratify on the cell table (:func:`analysis.weighting.poststratify_cells`, the
    in-memory step): ``(factor per cell, WeightingReport, Calibration, the targets its
    replicates are raked to)``; the variance's model is the cells' identity."""
    from analysis.variance import Calibration
    from analysis.weighting import CalibrationTargets, WeightingReport, poststratify_cells

    cell_cats = _cell_categories(cells, [len(c) for c in table.categories])
    base = cells["weight"].to_numpy()
    factor, cell_target = poststratify_cells(table, rows, cell_cats, base)
    ab = np.abs(base * factor - cell_target)
    rel = ab / np.where(cell_target > 0, cell_target, 1.0)
    d = _diagnostics(cells, factor)
    report = WeightingReport(method="poststratify", iterations=1,
                             max_margin_error=float(ab.max()),
                             max_relative_error=float(rel.max()), converged=True, epsilon=0.0,
                             weight_sum=d.weight_sum, weight_min=d.weight_min,
                             weight_max=d.weight_max)
    C = len(cell_cats)
    targets = CalibrationTargets(table.variables, np.arange(C), np.arange(C)[:, None],
                                 (cell_target,), (tuple(str(i) for i in range(C)),))
    return (factor, report, Calibration.from_cells(np.eye(C), base, cells["rows"].to_numpy()),
            targets)


def _diagnostics(cells: pd.DataFrame, factor):
    """Kish's design effect of weighting and the weight range, from the cell sums."""
    from analysis.diagnostics import WeightDiagnostics

    f = np.ones(len(cells)) if factor is None else factor
    n = int(cells["rows"].sum())
    total = float((cells["weight"] * f).sum())
    squares = float((cells["square"] * f * f).sum())
    low, high = float((cells["min"] * f).min()), float((cells["max"] * f).max())
    n_eff = total * total / squares if squares > 0 else float("nan")
    return WeightDiagnostics(n=n, weight_sum=total, weight_min=low, weight_max=high,
                             ratio=high / low if low > 0 else float("inf"),
                             kish_deff=n / n_eff if n_eff else float("nan"),
                             n_effective=n_eff)
