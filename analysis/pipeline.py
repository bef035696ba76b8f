"""One way from a responses table to per-wave designs, for every command and the report.

:func:`load_survey` reads the table, finds each wave's questionnaire definition (codebook beside
the file, Parquet metadata, the repository's wave files, or the column names: see
:mod:`analysis.metadata`), validates the ``wave`` column and the answer codes
(:mod:`analysis.validation`), turns "not applicable" (code 9) into missing while remembering
which cells held it, computes the quality flags the data lack and excludes flagged responses.
The :class:`Survey` it returns builds each wave's design (:meth:`Survey.design`) and applies the
comparability rules (:meth:`Survey.comparability`, :mod:`analysis.comparability`).

Every step says what it did as a note ``(kind, item, message)``; the commands print them on
stderr and the report keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.database import DatabaseData, DatabaseSource
from analysis.errors import AnalysisInputError
from analysis.metadata import NO_METADATA, WaveMetadata, read_metadata, valid_codes
from analysis.quality import FLAG_COLUMNS, ExclusionReport, add_quality_flags, exclude_flagged

__all__ = ["DesignSpec", "Survey", "load_survey", "margins_for_wave", "weighting_table"]

Note = tuple[str, str, str]
WEIGHTING_COLUMNS = ("wave", "n", "weight_sum", "weight_min", "weight_max", "weight_ratio",
                     "kish_deff", "n_effective", "n_trimmed")


# --------------------------------------------------------------------------- designs
@dataclass(frozen=True)
class DesignSpec:
    """How to build each wave's design from the responses table (column names).

    ``weight`` is the final weight column; with ``margins`` (a :class:`analysis.Margins` or a path)
    each wave is calibrated to the margins (rows for that wave when the margins have a ``wave``
    column) with ``calfun`` and ``bounds`` (:meth:`SurveyDesign.calibrate`; the default,
    raking without bounds, is :meth:`SurveyDesign.rake`), starting from ``base_weight`` (or
    ``weight``, or 1), and SEs account for the calibration (``rake_variance`` as
    :meth:`SurveyDesign.rake`); ``rescale`` turns count targets on different bases into
    shares of one total.
    """

    weight: str | None = None
    strata: str | None = None
    psu: str | tuple[str, ...] | None = None  # several: one per stage (multistage design)
    fpc: str | tuple[str, ...] | None = None  # several: one per stage
    margins: object | None = None
    base_weight: str | None = None
    lonely_psu: str = "fail"
    rescale: bool = False
    rake_variance: str = "calibrate"
    calfun: str = "raking"
    bounds: tuple[float, float] | None = None
    # an analysis.replicates.ReplicateSpec: SEs from replicate weights (built from the
    # design, or read from columns); calibration then calibrates every replicate
    replicates: object | None = None

    @property
    def weighted(self) -> bool:
        return bool(self.weight or self.base_weight or self.margins is not None)

    @property
    def columns(self) -> list[str]:
        """The data columns the design reads (weight, strata, every stage's PSU and fpc)."""
        start = (self.base_weight or self.weight) if self.margins is not None else self.weight
        cols = [start, self.strata]
        for stages in (self.psu, self.fpc):
            cols += [stages] if isinstance(stages, str) else list(stages or ())
        supplied = getattr(self.replicates, "columns", ())
        if not isinstance(supplied, str):
            cols += list(supplied)
        return [c for c in cols if c]

    def build(self, df: pd.DataFrame, year: int | None = None, source: str | None = None):
        """The design of ``df`` (one wave); ``source``, the file read, starts the message of
        an error in the design columns (they name the column, value and row)."""
        from analysis.design import SurveyDesign

        start = (self.base_weight or self.weight) if self.margins is not None else self.weight
        try:
            design = SurveyDesign(df, weights=start, strata=self.strata, psu=self.psu,
                                  fpc=self.fpc, lonely_psu=self.lonely_psu)
            if self.replicates is not None:
                design = self.replicates.apply(design)
        except AnalysisInputError as exc:
            if source is None:
                raise
            raise AnalysisInputError(f"{source}: {exc}") from None
        if self.margins is not None:
            kwargs = {"variance": self.rake_variance} if self.rake_variance != "calibrate" else {}
            design = design.calibrate(margins_for_wave(self.margins, year),
                                      calfun=self.calfun, bounds=self.bounds,
                                      rescale=self.rescale, **kwargs)
        return design


def margins_for_wave(margins, year: int | None):
    """The margins for one wave: a path is read with :func:`analysis.read_margins`; margins with
    a ``wave`` column are restricted to ``year``'s rows."""
    if isinstance(margins, str | Path):
        from analysis.io import read_margins

        margins = read_margins(margins)
    selector = getattr(margins, "for_wave", None)
    if callable(selector) and year is not None:
        return selector(year) if getattr(margins, "waves", True) else margins
    table = getattr(margins, "table", margins)
    if isinstance(table, pd.DataFrame) and "wave" in table.columns and year is not None:
        rows = table[pd.to_numeric(table["wave"], errors="coerce") == year]
        if rows.empty:
            raise AnalysisInputError(f"margins: no rows for wave {year} in column 'wave'")
        return rows.drop(columns="wave").reset_index(drop=True)
    return margins


def weighting_table(designs: dict) -> pd.DataFrame:
    """One row per wave's design: :data:`WEIGHTING_COLUMNS` (contract section 7)."""
    rows = [{"wave": "" if y is None else y, **d.weight_diagnostics.as_dict()}
            for y, d in designs.items()]
    return pd.DataFrame(rows, columns=list(WEIGHTING_COLUMNS))


# --------------------------------------------------------------------------- the survey
@dataclass
class Survey:
    """A responses table split into waves, validated and cleaned, with its metadata.

    Attributes:
        source: the file read (or ``"the data"`` for a DataFrame).
        waves: the waves, in order (``(None,)`` for a table without a ``wave`` column, which
            only ``require_wave=False`` accepts).
        frames: wave -> its rows after exclusions, with the file's row index (so messages name
            the row of the file), "not applicable" already missing.
        definitions: wave -> :class:`questionnaires.Wave` (from the metadata).
        metadata: wave -> :class:`analysis.metadata.WaveMetadata` (definition, source, origin).
        exclusions: wave -> :class:`analysis.quality.ExclusionReport` (absent when nothing was
            checked: ``keep_flagged``, or no flags and no definition).
        not_applicable: wave -> boolean DataFrame (rows of ``frames[wave]``, one column per item
            offering "not applicable"): which answers were code 9.
        recoded: column -> number of out-of-range codes set to missing (``recode_invalid``).
        notes: ``(kind, item, message)``: ``metadata``, ``recoded``, ``quality``.
        fieldwork: the fieldwork summary (:data:`analysis.metadata.FIELDWORK_COLUMNS`) or None.
    """

    source: str
    waves: tuple
    frames: dict
    definitions: dict
    metadata: dict[int, WaveMetadata]
    exclusions: dict[int, ExclusionReport] = field(default_factory=dict)
    not_applicable: dict[int, pd.DataFrame] = field(default_factory=dict)
    recoded: dict[str, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    fieldwork: pd.DataFrame | None = None
    pool: object | None = None  # several files pooled: an analysis.pooling.Pool

    def refuse_free_text(self, columns: Sequence[str]) -> None:
        """Refuse to estimate with a free-text column (codebook type ``text``) in one line."""
        refuse_free_text(self.source, [self.definitions[y] for y in self.waves], columns)

    @property
    def metadata_sources(self) -> dict:
        """wave -> ``"codebook"``, ``"repository"`` or ``"none"``."""
        return {y: m.source for y, m in self.metadata.items()}

    def versions_known(self, years: Sequence | None = None) -> bool:
        """Whether every wave of ``years`` (default all) has wording versions in its metadata."""
        return all(self.metadata[y].versions_known for y in (years or self.waves))

    def design(self, year, spec: DesignSpec | None = None):
        """Wave ``year``'s :class:`analysis.SurveyDesign` built by ``spec`` (default: equal
        weights, no strata or PSUs)."""
        if year not in self.frames:
            raise AnalysisInputError(f"wave {year} is not among the waves loaded "
                                     f"({', '.join(map(str, self.waves))})")
        if self.pool is not None:
            return self.pool.design(self.frames[year], year, spec or DesignSpec())
        source = self.source if self.source != "the data" else None
        return (spec or DesignSpec()).build(self.frames[year], year, source=source)

    def not_applicable_share(self, year) -> pd.Series:
        """Per item offering "not applicable": the share of wave ``year``'s answers (code 9
        counted as an answer) that were "not applicable"."""
        mask = self.not_applicable.get(year)
        if mask is None or mask.empty:
            return pd.Series(dtype=float)
        frame = self.frames[year]
        given = frame[list(mask.columns)].notna().sum() + mask.sum()
        return (mask.sum() / given.replace(0, np.nan)).rename("not_applicable_share")

    def indicator_scales(self, year, targets) -> tuple[list, list[Note]]:
        """The scales wave ``year``'s indicator ``targets`` are scored from (its definition's
        items that the data answer), and notes naming the items the data lack."""
        from analysis.comparability import component_scales, wave_scales_in_data

        scales, notes = wave_scales_in_data({year: self.definitions[year]},
                                            {year: self.frames[year]}, targets)
        used = {n for t in targets if t.is_indicator for n in component_scales(t, scales[year])}
        return [s for name, s in scales[year].items() if name in used], notes

    def comparability(self, targets, years: Sequence | None = None, *,
                      common_items: bool = False, load_norms: Callable | None = None):
        """:func:`analysis.comparability.check_targets` over ``years`` (default all waves)."""
        from analysis.comparability import check_targets

        years = list(years or self.waves)
        return check_targets(targets, {y: self.definitions[y] for y in years},
                             {y: self.frames[y] for y in years},
                             versions_known=self.versions_known(years),
                             common_items=common_items, load_norms=load_norms)


# --------------------------------------------------------------------------- loading
def _read(source, columns, keep_flagged):
    from analysis.io import read_responses, response_columns
    from analysis.quality import quality_columns

    if isinstance(source, pd.DataFrame):
        # rows are matched by index label after exclusions: make labels unique
        return (source if source.index.is_unique else source.reset_index(drop=True),
                None, "the data")
    if isinstance(source, DatabaseSource):
        data = source.read()
        return _columns_of(data.frame, source, columns, keep_flagged), data, str(source)
    present = response_columns(source)
    if columns is not None:
        for col in columns:
            if col not in present:
                raise AnalysisInputError(f"{source}: unknown column '{col}'")
        wanted = list(dict.fromkeys(list(columns) + (["wave"] if "wave" in present else [])))
        if not keep_flagged:
            wanted = list(dict.fromkeys(wanted + quality_columns(present)))
        columns = [c for c in present if c in set(wanted)]
    return read_responses(source, columns=columns), source, str(source)


def _columns_of(frame: pd.DataFrame, name, columns, keep_flagged) -> pd.DataFrame:
    """``frame`` cut to ``columns`` as a file read with ``columns`` would be (plus ``wave`` and
    what the quality flags need)."""
    from analysis.quality import quality_columns

    if columns is None:
        return frame
    present = list(frame.columns)
    for col in columns:
        if col not in present:
            raise AnalysisInputError(f"{name}: unknown column '{col}'")
    wanted = set(columns) | ({"wave"} & set(present))
    if not keep_flagged:
        wanted |= set(quality_columns(present))
    return frame[[c for c in present if c in wanted]]


def _select_waves(data, name, waves, require_wave):
    from analysis.validation import check_wave_column

    if "wave" not in data.columns:
        if require_wave or waves is not None:
            raise AnalysisInputError(f"{name}: column 'wave' is missing from the data")
        return {None: np.arange(len(data))}
    years = check_wave_column(data, name)
    present = sorted(set(years.tolist()))
    if waves is None:
        waves = present
    waves = [int(y) for y in waves]
    if len(set(waves)) != len(waves):
        raise AnalysisInputError(f"waves repeat: {', '.join(map(str, waves))}")
    for y in waves:
        if y not in present:
            raise AnalysisInputError(
                f"wave {y} is not in the data (column 'wave' has {', '.join(map(str, present))})")
    return {y: np.flatnonzero(years == y) for y in waves}


def _answered_columns(part: pd.DataFrame) -> list[str]:
    return [c for c in part.columns if part[c].notna().any()]


def _not_applicable(part: pd.DataFrame, definition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``part`` with each item's "not applicable" code set to missing, and where it was."""
    masks = {}
    for code, item in definition.items.items():
        if item.not_applicable is None or code not in part.columns:
            continue
        values = pd.to_numeric(part[code], errors="coerce")
        masks[code] = (values == item.not_applicable.code).to_numpy(dtype=bool, na_value=False)
    mask = pd.DataFrame(masks, index=part.index)
    hit = [c for c in mask.columns if mask[c].any()]
    if hit:
        part = part.copy(deep=False)  # the changed columns are replaced, not written into
        for c in hit:
            part[c] = part[c].mask(mask[c])
    return part, mask


def _exclude(part, year, meta: WaveMetadata | None, notes):
    label = f"wave {year}: " if year is not None else ""
    if not all(c in part.columns for c in FLAG_COLUMNS):
        if meta is None or meta.source == "none":
            notes.append(("quality", "", f"{label}no questionnaire definition, so quality flags "
                          "cannot be computed: no response excluded" if year is not None else
                          "no quality flags and no 'wave' column: no response excluded"))
            return part, None
        definition = meta.definition
        if any(i.kind == "attention" and i.expected is None for i in definition.items.values()):
            notes.append(("quality", "", f"{label}the attention check's expected answer is "
                          "unknown (not in the item bank): flag_attention not computed"))
        flagged = add_quality_flags(part if year is not None else part.assign(wave=0),
                                    lambda _y, w=definition: w)
        part = flagged if year is not None else flagged.drop(columns="wave")
    kept, report = exclude_flagged(part)
    if kept.empty:
        raise AnalysisInputError(f"{label}every response is flagged by the quality checks "
                                 "(use --keep-flagged to keep them)")
    notes.append(("quality", "", f"{label}{report.message()}"))
    return kept, report


def _metadata_without_waves(path, codebook, data) -> WaveMetadata:
    """A table without a ``wave`` column: a codebook of exactly one wave describes it, else the
    column names do."""
    from analysis.metadata import columns_wave, read_codebook, waves_from_codebook

    origin = "the codebook given"
    if codebook is None and path is not None:
        found = read_codebook(path)
        if found is not None:
            codebook, origin = found
    defs = waves_from_codebook(codebook, origin) if codebook else {}
    if len(defs) == 1:
        (definition,) = defs.values()
        return WaveMetadata(None, definition, "codebook", origin)
    return WaveMetadata(None, columns_wave(0, _answered_columns(data)), "none", "column names")


def refuse_free_text(source: str, definitions, columns: Sequence[str]) -> None:
    """One line for a column of ``columns`` that a wave definition of ``definitions`` says is
    a free-text answer (codebook type ``text``)."""
    from analysis.metadata import free_text_columns

    for definition in definitions:
        text = free_text_columns(definition)
        for column in columns:
            if column in text:
                raise AnalysisInputError(
                    f"{source}: column '{column}' is a free-text answer (codebook type "
                    "'text'): free texts are exported for reading, never estimated")


def load_survey(source, *, waves: Sequence[int] | None = None, keep_flagged: bool = False,
                recode_invalid: bool = False, columns: Sequence[str] | None = None,
                codebook: Sequence[dict] | None = None, fieldwork: pd.DataFrame | None = None,
                load_wave: Callable[[int], object] | None = None,
                require_wave: bool = True, recode_not_applicable: bool = True) -> Survey:
    """Read, validate and clean a responses table; see the module docstring.

    Parameters:
        source: a path (CSV, Parquet, ...), a DataFrame or an
            :class:`analysis.database.DatabaseSource` (an organisation's waves read from the
            survey database, with the codebook and fieldwork summary an export carries);
            several files, each an independent survey, are pooled by
            :func:`analysis.pooling.load_pooled`.
        waves: the waves to keep (default: every wave in the data); each must be there.
        keep_flagged: keep responses flagged by the quality checks (default: exclude them).
        recode_invalid: set out-of-range answer codes to missing (and say how many per column)
            instead of refusing the data.
        columns: read only these columns (plus ``wave`` and what the quality flags need).
        codebook, fieldwork: metadata for a DataFrame (or to override the files beside a path):
            codebook rows (dicts with the codebook columns) and the fieldwork table.
        load_wave: the definition of every wave (instead of the metadata); tests use it.
        require_wave: refuse a table without a ``wave`` column (``estimate`` accepts one: it is
            then one wave, keyed ``None``).
        recode_not_applicable: turn "not applicable" (9) into missing (``weight``, which
            writes the data back, keeps the codes).
    """
    if isinstance(source, list | tuple):
        if len(source) > 1:
            # several files are pooled by the layer above (analysis.pooling imports this one)
            raise TypeError("load_survey reads one source; pool several files with "
                            "analysis.pooling.load_pooled(paths)")
        (source,) = source
    data, path, name = _read(source, columns, keep_flagged)
    origin = None
    if isinstance(path, DatabaseData):  # the metadata an export file would carry beside it
        codebook = path.codebook if codebook is None else codebook
        fieldwork = path.fieldwork if fieldwork is None else fieldwork
        origin, path = path.origin, None
    blocks = _select_waves(data, name, waves, require_wave)
    years = [y for y in blocks if y is not None]
    parts = {y: data.iloc[rows] if len(blocks) > 1 or len(rows) != len(data) else data
             for y, rows in blocks.items()}
    meta = read_metadata(path, years, {y: _answered_columns(parts[y]) for y in years},
                         codebook=codebook, fieldwork=fieldwork, load_wave=load_wave,
                         codebook_origin=origin)
    if None in blocks:
        meta.waves[None] = _metadata_without_waves(path, codebook, data)
        if meta.waves[None].source == "none":
            meta.notes.append(("metadata", "", f"the data (no 'wave' column): {NO_METADATA}"))
    del data  # the waves' parts hold the rows from here on
    survey = Survey(source=name, waves=tuple(blocks), frames={}, definitions={},
                    metadata=meta.waves, notes=list(meta.notes), fieldwork=meta.fieldwork)
    from analysis.validation import check_answer_codes

    for y in blocks:
        definition = meta.waves[y].definition
        part, counts = check_answer_codes(parts.pop(y), valid_codes(definition), name,
                                          recode_invalid=recode_invalid)
        for col, k in counts.items():
            survey.recoded[col] = survey.recoded.get(col, 0) + k
        if not keep_flagged:
            # before "not applicable" becomes missing: the speeder rule counts it as an answer
            part, report = _exclude(part, y, meta.waves[y], survey.notes)
            if report is not None:
                survey.exclusions[y] = report
        if recode_not_applicable:
            part, na_mask = _not_applicable(part, definition)
        else:
            na_mask = pd.DataFrame(index=part.index)
        survey.frames[y] = part
        survey.definitions[y] = definition
        survey.not_applicable[y] = na_mask
    if keep_flagged:
        survey.notes.append(("quality", "", "quality flags ignored (--keep-flagged): no "
                             "response excluded"))
    for col, k in survey.recoded.items():
        survey.notes.append(("recoded", col, f"column '{col}': {k} out-of-range answer "
                             f"code{'s' if k != 1 else ''} set to missing (--recode-invalid)"))
    return survey
