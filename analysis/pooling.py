"""Pooling independent surveys (one data file each, e.g. one per province) into one design.

Every file goes through the one pipeline on its own (:func:`analysis.pipeline.load_survey`:
its codebook, answer-code checks, "not applicable" and quality exclusions), then the files'
rows are stacked, wave by wave, with a ``source`` column (the file's stem, or the label given)
so that ``--by source`` gives one row per survey. The pooled design keeps each file's sample
apart, as R's

    svydesign(ids = ~interaction(source, psu), strata = ~interaction(source, stratum),
              weights = ~w, nest = TRUE, data = rbind(a, b, ...))

strata are file x stratum (a design without strata: each file is one stratum), PSUs are nested
in them (so PSU ``3`` of two files are two PSUs) and an fpc applies within its file's strata.
The weights are used as given: the pooled estimate is a national figure only when every file's
weights are on the population scale (they sum to the population each survey represents); one
note per file says how many responses and what weight sum it brings.

What must agree between the files (one line naming the file and column otherwise): the same
waves, the same kind of values in a column they share (numbers or text), and every design
column present. An answer item asked with a different wording version in some file (or not
asked there) is not pooled: requested by name it is an error, otherwise its column is left out
with a note (:func:`questionnaires.comparable`, the rule :mod:`analysis.comparability` applies
between waves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError

POOL_COLUMN = "source"
POOLED_STRATUM = "_pooled_stratum"
# answer items: their wording must agree between the pooled files (demographics may be absent
# from a provincial survey, e.g. its province)
CHECKED_KINDS = ("awareness", "practice", "attention")

__all__ = ["POOL_COLUMN", "Pool", "PooledFile", "load_pooled", "pool_labels"]


@dataclass(frozen=True)
class PooledFile:
    """One file of a pooled survey: its ``label`` (the ``source`` value), ``path``, the
    columns it has, and ``offset``, added to its row index in the pooled frames (row labels
    stay unique; ``index - offset`` is the file's own row)."""

    label: str
    path: str
    columns: frozenset[str]
    offset: int


@dataclass(frozen=True)
class Pool:
    """The files behind a pooled :class:`analysis.pipeline.Survey`; builds its designs."""

    files: tuple[PooledFile, ...]

    @property
    def name(self) -> str:
        return " + ".join(f.path for f in self.files)

    def rows_of(self, frame: pd.DataFrame, file: PooledFile) -> pd.DataFrame:
        """``frame``'s rows from ``file``, indexed by the file's own row numbers."""
        part = frame[frame[POOL_COLUMN].to_numpy() == file.label]
        return part.set_axis(part.index - file.offset)

    def design(self, frame: pd.DataFrame, year, spec):
        """The pooled design of one wave's stacked rows: each file's design columns are first
        checked on the file's own rows (errors name the file and its row), then strata become
        file x stratum and the design is built over all rows."""
        for file in self.files:
            for col in spec.columns:
                if col not in file.columns:
                    raise AnalysisInputError(f"{file.path}: design column '{col}' is missing "
                                             "(every pooled file needs it)")
            own = replace(spec, margins=None, weight=_starting_weight(spec), base_weight=None)
            own.build(self.rows_of(frame, file), year, source=file.path)
        frame, spec = self.stratified(frame, spec)
        return spec.build(frame, year, source=self.name)

    @staticmethod
    def stratified(frame: pd.DataFrame, spec):
        """``frame`` with a column of file x stratum, and ``spec`` with it as the strata (for
        designs built elsewhere from the pooled rows, such as a trend's wave x stratum)."""
        frame = frame.copy(deep=False)
        label = frame[POOL_COLUMN].astype(str)
        frame[POOLED_STRATUM] = (label + "\x1f" + frame[spec.strata].astype(str)
                                 if spec.strata else label)
        return frame, replace(spec, strata=POOLED_STRATUM)


def _starting_weight(spec) -> str | None:
    return (spec.base_weight or spec.weight) if spec.margins is not None else spec.weight


def pool_labels(paths: Sequence, labels: Sequence[str] | None) -> list[str]:
    """The ``source`` value of each file: ``labels`` (one per file, distinct) or the stems."""
    if labels is not None:
        if len(labels) != len(paths):
            raise AnalysisInputError(f"--pool-labels: {len(labels)} label(s) for {len(paths)} "
                                     "data files; give one per file, in the same order")
        chosen = [str(x) for x in labels]
    else:
        # a file: its name without the suffix; an organisation read from the database: its code
        chosen = [getattr(p, "label", None) or Path(p).stem for p in paths]
    seen: dict[str, str] = {}
    for path, label in zip(paths, chosen, strict=True):
        if label in seen:
            raise AnalysisInputError(f"{path}: its source label '{label}' is also "
                                     f"{seen[label]}'s; give --pool-labels")
        seen[label] = str(path)
    return chosen


def load_pooled(sources: Sequence, *, labels: Sequence[str] | None = None,
                weight: str | None = None, columns: Sequence[str] | None = None, **options):
    """Load every file (or :class:`analysis.database.DatabaseSource`) of ``sources`` through
    :func:`analysis.pipeline.load_survey` (with ``options``) and pool them (module docstring).
    ``weight`` names the weight column the notes sum per file; ``columns`` the columns to read
    (``source`` is made, not read)."""
    from analysis.pipeline import Survey, load_survey

    paths = [str(s) for s in sources]
    names = pool_labels(sources, labels)
    wanted = None if columns is None else [c for c in columns if c != POOL_COLUMN]
    surveys = [_load_one(load_survey, source, path, wanted, options)
               for source, path in zip(sources, paths, strict=True)]
    _check_waves(paths, surveys)
    _check_types(paths, surveys)
    for path, survey in zip(paths, surveys, strict=True):
        for frame in survey.frames.values():
            if POOL_COLUMN in frame.columns:
                raise AnalysisInputError(f"{path}: has a column '{POOL_COLUMN}', the name the "
                                         "pooled data give each file's label; rename it")
    dropped, notes = _check_items(paths, surveys, wanted)

    files, offset = [], 0
    for path, label, survey in zip(paths, names, surveys, strict=True):
        present = set().union(*(f.columns for f in survey.frames.values()))
        files.append(PooledFile(label, path, frozenset(present), offset))
        offset += 1 + max(int(f.index.max()) for f in survey.frames.values() if len(f))
    first = surveys[0]
    frames, not_applicable = {}, {}
    for year in first.waves:
        parts, masks = [], []
        for file, survey in zip(files, surveys, strict=True):
            part = survey.frames[year].drop(columns=[c for c in dropped if c in
                                                     survey.frames[year].columns])
            part = part.set_axis(part.index + file.offset)
            part[POOL_COLUMN] = file.label
            parts.append(part)
            mask = survey.not_applicable.get(year, pd.DataFrame(index=part.index))
            masks.append(mask.set_axis(mask.index + file.offset))
        frames[year] = pd.concat(parts)
        na = pd.concat(masks)
        not_applicable[year] = na.fillna(False).astype(bool) if na.shape[1] else na
    pooled = Survey(
        source=" + ".join(paths), waves=first.waves, frames=frames,
        definitions=dict(first.definitions), metadata=_metadata(first, surveys),
        not_applicable=not_applicable, notes=[])
    for path, survey in zip(paths, surveys, strict=True):
        pooled.notes += [(k, i, f"{path}: {m}") for k, i, m in survey.notes]
        for col, k in survey.recoded.items():
            pooled.recoded[col] = pooled.recoded.get(col, 0) + k
    pooled.notes += notes + _weight_notes(files, surveys, weight)
    pooled.pool = Pool(tuple(files))
    return pooled


def _load_one(load_survey, source, path: str, columns, options):
    try:
        return load_survey(source, columns=columns, **options)
    except AnalysisInputError as exc:
        text = str(exc)
        raise AnalysisInputError(text if text.startswith(path) else f"{path}: {text}") from None


def _metadata(first, surveys) -> dict:
    """The first file's wave metadata, its origin naming every file's; "none" when any
    file's versions are unknown (items then compare by code)."""
    out = {}
    for year, meta in first.metadata.items():
        metas = [s.metadata[year] for s in surveys]
        source = "none" if any(m.source == "none" for m in metas) else meta.source
        origin = "; ".join(dict.fromkeys(m.origin for m in metas))
        out[year] = replace(meta, source=source, origin=origin)
    return out


def _wave_text(waves) -> str:
    return ", ".join("none (no 'wave' column)" if y is None else str(y) for y in waves)


def _check_waves(paths, surveys) -> None:
    base = set(surveys[0].waves)
    for path, survey in zip(paths[1:], surveys[1:], strict=True):
        if set(survey.waves) != base:
            raise AnalysisInputError(
                f"{path}: waves {_wave_text(survey.waves)} differ from {paths[0]}'s "
                f"({_wave_text(surveys[0].waves)}); pooled files must hold the same waves")


def _value_kind(column: pd.Series) -> str | None:
    """``"number"`` or ``"text"`` (``None`` for a column without values)."""
    if column.notna().sum() == 0:
        return None
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "time"
    return "text"


def _as_category_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Demographic category columns stored as numbers (a province code read from a CSV) as
    their text (``110000``), as another file stores them."""
    from analysis.statfiles import category_values

    numeric = [c for c in category_values() if c in frame.columns
               and _value_kind(frame[c]) == "number"]
    if not numeric:
        return frame
    frame = frame.copy(deep=False)
    for c in numeric:
        values = pd.to_numeric(frame[c])
        spell = "{:.0f}" if values.dropna().mod(1).eq(0).all() else "{:g}"
        text = values.map(spell.format, na_action="ignore")
        frame[c] = text.astype(object).where(values.notna(), None)
    return frame


def _check_types(paths, surveys) -> None:
    """A column the files share holds the same kind of values in each (demographic categories
    are text: :func:`_as_category_text`)."""
    seen: dict[str, tuple[str, str]] = {}
    for path, survey in zip(paths, surveys, strict=True):
        for year, frame in survey.frames.items():
            frame = survey.frames[year] = _as_category_text(frame)
            for col in frame.columns:
                kind = _value_kind(frame[col])
                if kind is None:
                    continue
                if col not in seen:
                    seen[col] = (kind, path)
                elif seen[col][0] != kind:
                    other_kind, other = seen[col]
                    raise AnalysisInputError(
                        f"{path}: column '{col}' holds {kind} values but {other}'s holds "
                        f"{other_kind} values; pooled files must store a column alike")


def _check_items(paths, surveys, wanted) -> tuple[set[str], list]:
    """Answer items whose wording (code and version) differs between the files, or that some
    file does not ask: an error when requested by name, else left out with a note."""
    from questionnaires import comparable

    versions_known = all(s.versions_known() for s in surveys)
    dropped, notes = set(), []
    for year in surveys[0].waves:
        defs = [s.definitions[year] for s in surveys]
        codes = sorted({c for d in defs for c, item in d.items.items()
                        if item.kind in CHECKED_KINDS})
        for code in codes:
            reason = _item_reason(code, paths, defs, surveys, year, versions_known, comparable)
            if reason is None:
                continue
            where = f"wave {year}: " if year is not None else ""
            if wanted is not None and code in wanted:
                raise AnalysisInputError(f"{where}item '{code}' cannot be pooled: {reason}")
            if code not in dropped:
                notes.append(("not_comparable", code, f"{where}{code}: not pooled (column left "
                              f"out), {reason}"))
            dropped.add(code)
    return dropped, notes


def _item_reason(code, paths, defs, surveys, year, versions_known, comparable) -> str | None:
    items = [d.items.get(code) for d in defs]
    lacking = [p for p, s in zip(paths, surveys, strict=True)
               if code not in s.frames[year].columns]
    if len(lacking) == len(paths):
        return None  # not read at all
    if lacking:
        return f"not asked in {', '.join(lacking)}"
    if not versions_known:
        return None
    known = [(p, item) for p, item in zip(paths, items, strict=True) if item is not None]
    for (pa, a), (pb, b) in zip(known, known[1:], strict=False):
        if not comparable(a, b):
            return (f"wording version {a.wording_version} in {pa} but version "
                    f"{b.wording_version} in {pb}")
    return None


def _weight_notes(files, surveys, weight) -> list:
    """One note per file: its responses and weight sum per wave (the pooled estimate adds the
    files' weights, so each must be on the population scale for a national figure)."""
    notes = []
    for file, survey in zip(files, surveys, strict=True):
        parts = []
        for year, frame in survey.frames.items():
            when = f"wave {year}: " if year is not None else ""
            if weight is None:
                parts.append(f"{when}{len(frame)} responses, weight sum {len(frame)} (no "
                             "weight column: each response weighs 1)")
            elif weight in frame.columns:
                total = np.nansum(pd.to_numeric(frame[weight], errors="coerce")
                                  .to_numpy(dtype=float, na_value=np.nan))
                parts.append(f"{when}{len(frame)} responses, weight sum {total:,.0f}")
        if parts:
            notes.append(("pooling", file.label,
                          f"pooled {file.path} as source '{file.label}': " + "; ".join(parts)
                          + " after exclusions (the weights must be on the population scale "
                          "for a pooled total)"))
    return notes
