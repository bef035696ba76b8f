"""Response-quality flags: speeders, straight-liners and failed attention checks.

Three flags, each 0/1, computed from the responses table (the export schema of
``docs/architecture.md``) and the wave definition that produced it:

``flag_speeder``
    ``duration_s`` below :data:`SPEEDER_FRACTION` (0.3) times the median ``duration_s`` of the
    wave's completed responses, **or** below the wave's ``quality.min_seconds_per_item``
    (default 1 s, see ``questionnaires.QualityRules``) times the number of questions the
    response answered (every item of the wave, demographics included; "not applicable" is an
    answer).
    A median-relative threshold adapts to the questionnaire's length (a wave with more items
    takes longer) and is robust to the few respondents who leave a tab open for hours; the
    absolute floor still catches speeders when many respondents speed and drag the median down.
    A missing duration is never flagged.
``flag_straightliner``
    The respondent gave one and the same answer to every answered scale item of a grid page
    (pages with ``grid: true``; "not applicable", code 9, counts as no answer), counting only
    pages where at least :data:`MIN_GRID_ANSWERS` (3) scale items were answered, and did so on
    *every* such page (rule ``"all_pages"``, the default). The Ten Norms waves have one short
    grid page per norm (one awareness and two practice items), where an honest "4, 4, 4" on
    one page is common, so flagging a single uniform page (rule ``"any_page"``) would flag most
    sincere respondents; a respondent uniform on every norm page is the pattern of someone not
    reading. With fewer than one qualifying page nothing is flagged.
``flag_attention``
    An attention-check item (``kind: attention``, e.g. ``ATTN1``) was answered with a code other
    than its ``expected`` code. An unanswered attention check is not flagged.

:func:`exclude_flagged` drops flagged rows before analysis and reports how many rows each reason
removed; the analysis commands call it by default and print the counts on stderr
(``--keep-flagged`` keeps everybody).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from questionnaires.model import DEFAULT_MIN_SECONDS_PER_ITEM

SPEEDER_FRACTION = 0.3
MIN_GRID_ANSWERS = 3
FLAG_COLUMNS = ("flag_speeder", "flag_straightliner", "flag_attention")
REASONS = ("speeder", "straightliner", "attention")
SCALE_KINDS = ("awareness", "practice")
# export columns that are never answers (docs/architecture.md, section 2)
NOT_READ_BY_QUALITY_RULES = ("response_id", "started_at", "submitted_at")
ORDER_COLUMN_PREFIX = "order__"

__all__ = [
    "FLAG_COLUMNS",
    "MIN_GRID_ANSWERS",
    "SPEEDER_FRACTION",
    "ExclusionReport",
    "add_quality_flags",
    "exclude_flagged",
    "flag_quality",
]


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float with NaN for missing; a non-numeric value is an input error."""
    if pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column]):
        return df[column].to_numpy(dtype=float, na_value=np.nan)
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() & df[column].notna() & (df[column].astype(str).str.strip() != "")
    if bad.any():
        raise AnalysisInputError(
            f"column '{column}': value {df[column][bad].iloc[0]!r} is not a number"
        )
    return values.to_numpy(dtype=float, na_value=np.nan)


def _answered_questions(df: pd.DataFrame, wave) -> np.ndarray:
    """How many of the wave's questions each row answered (any non-empty cell of an item
    column, demographics included; "not applicable" is an answer)."""
    answered = np.zeros(len(df), dtype=np.int64)
    for code in wave.items:
        if code in df.columns:
            column = df[code]
            filled = column.notna()
            if not pd.api.types.is_numeric_dtype(column):  # category text: '' is no answer
                filled &= column.astype(str).str.strip() != ""
            answered += filled.to_numpy()
    return answered


def _scale_answers(df: pd.DataFrame, item) -> np.ndarray:
    """An item's answers with "not applicable" as missing: choosing it says nothing about
    reading the grid, so it neither makes nor breaks a uniform page."""
    values = _numeric(df, item.code).copy()  # may be a read-only view of df
    if getattr(item, "not_applicable", None) is not None:
        values[values == item.not_applicable.code] = np.nan
    return values


def flag_quality(
    df: pd.DataFrame,
    wave,
    *,
    speeder_fraction: float = SPEEDER_FRACTION,
    min_grid_answers: int = MIN_GRID_ANSWERS,
    straightline_rule: str = "all_pages",
    median_duration: float | None = None,
    min_seconds_per_item: float | None = None,
) -> pd.DataFrame:
    """Quality flags of one wave's responses.

    Parameters
    ----------
    df:
        The wave's rows of the responses table (export schema): ``duration_s`` and the item
        columns (demographic columns, if present, count towards the answered questions).
        Columns the wave defines but ``df`` lacks count as unanswered; without ``duration_s``
        no one is flagged as a speeder.
    wave:
        The :class:`questionnaires.Wave` that produced the responses (its pages say which are
        grids; its items say which is the attention check and its expected answer).
    speeder_fraction:
        A response is a speeder when ``duration_s < speeder_fraction * median(duration_s)``.
    min_grid_answers:
        A grid page counts for straight-lining only with at least this many answered items.
    straightline_rule:
        ``"all_pages"`` (uniform on every qualifying grid page) or ``"any_page"``.
    median_duration:
        The wave's median ``duration_s`` in seconds, when ``df`` is only part of the wave (the
        export flags its rows chunk by chunk); ``None`` takes the median of ``df``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``df``; int8 columns ``flag_speeder``, ``flag_straightliner``,
        ``flag_attention`` (1 = flagged).
    """
    if straightline_rule not in ("all_pages", "any_page"):
        raise ValueError(f"straightline_rule must be 'all_pages' or 'any_page', "
                         f"got {straightline_rule!r}")
    n = len(df)
    out = pd.DataFrame(index=df.index)

    speeder = np.zeros(n, dtype=bool)
    if "duration_s" in df.columns and n:
        duration = _numeric(df, "duration_s")
        median = median_duration
        if median is None and np.isfinite(duration).any():
            median = np.nanmedian(duration)
        if median is not None:
            with np.errstate(invalid="ignore"):
                speeder = duration < speeder_fraction * median
        if min_seconds_per_item is None:
            rules = getattr(wave, "quality", None)
            min_seconds_per_item = getattr(rules, "min_seconds_per_item",
                                           DEFAULT_MIN_SECONDS_PER_ITEM)
        with np.errstate(invalid="ignore"):
            speeder |= duration < min_seconds_per_item * _answered_questions(df, wave)
    out["flag_speeder"] = speeder.astype(np.int8)

    qualifying = np.zeros(n, dtype=np.int64)  # grid pages with enough answers
    uniform = np.zeros(n, dtype=np.int64)  # ... of which answered uniformly
    for page in wave.pages:
        if not page.grid:
            continue
        items = [i for i in page.items if i.kind in SCALE_KINDS and i.code in df.columns]
        if not items:
            continue
        # column by column: a grid has a few items, and numpy's row-wise reductions over a
        # (rows, 3) array are many times slower than three element-wise passes
        n_answered = np.zeros(n, dtype=np.int64)
        vmax = np.full(n, np.nan)
        vmin = np.full(n, np.nan)
        for item in items:
            values = _scale_answers(df, item)
            n_answered += np.isfinite(values)
            np.fmax(vmax, values, out=vmax)  # fmax/fmin skip NaN (an unanswered item)
            np.fmin(vmin, values, out=vmin)
        enough = n_answered >= min_grid_answers
        qualifying += enough
        uniform += enough & (vmax == vmin)
    if straightline_rule == "all_pages":
        straight = (qualifying > 0) & (uniform == qualifying)
    else:
        straight = uniform > 0
    out["flag_straightliner"] = straight.astype(np.int8)

    attention = np.zeros(n, dtype=bool)
    for item in wave.items.values():
        if item.kind != "attention" or item.expected is None or item.code not in df.columns:
            continue
        answer = _numeric(df, item.code)
        attention |= np.isfinite(answer) & (answer != item.expected)
    out["flag_attention"] = attention.astype(np.int8)
    return out


def add_quality_flags(
    df: pd.DataFrame,
    load_wave: Callable[[int], object] | None = None,
    *,
    overwrite: bool = False,
    **options,
) -> pd.DataFrame:
    """``df`` with the three flag columns, computed wave by wave (``df['wave']``).

    Existing flag columns (e.g. from the export) are kept unless ``overwrite``. The wave
    definitions come from :func:`questionnaires.load_wave` unless ``load_wave`` is given.
    """
    if not overwrite and all(c in df.columns for c in FLAG_COLUMNS):
        return df
    if "wave" not in df.columns:
        raise AnalysisInputError("column 'wave' is missing, so the wave definitions for the "
                                 "quality flags are unknown")
    if load_wave is None:
        from questionnaires import load_wave
    years = df["wave"].to_numpy()
    flags = np.zeros((len(df), len(FLAG_COLUMNS)), dtype=np.int8)
    for year in pd.unique(years[pd.notna(years)]):
        rows = np.flatnonzero(years == year)
        # one wave (the usual export) is flagged as it is: no copy of its rows
        part = df if len(rows) == len(df) else df.iloc[rows]
        flags[rows] = flag_quality(part, _load(load_wave, year), **options).to_numpy()
    # a shallow copy takes the new columns: the caller's frame and its blocks stay untouched
    # (a deep copy of a million-row table costs seconds)
    out = df.copy(deep=False)
    for position, c in enumerate(FLAG_COLUMNS):
        if overwrite or c not in out.columns:
            out[c] = flags[:, position]
    return out


def _load(load_wave, year):
    try:
        return load_wave(int(year))
    except (FileNotFoundError, KeyError, LookupError) as exc:
        raise AnalysisInputError(f"column 'wave': no questionnaire definition for wave {year} "
                                 f"({exc})") from None
    except Exception as exc:  # QuestionnaireError and friends: one clear line
        if exc.__class__.__name__ == "QuestionnaireError":
            raise AnalysisInputError(f"column 'wave': wave {year}: {exc}") from None
        raise


@dataclass(frozen=True)
class ExclusionReport:
    """How many rows :func:`exclude_flagged` removed: per reason (a row may have several) and in
    total (rows removed)."""

    n_rows: int
    by_reason: dict[str, int]
    total: int

    def message(self) -> str:
        """One line for stderr, e.g. ``excluded 42 of 3000 responses flagged by quality checks
        (speeder 20, straightliner 12, attention 15; a response may have several flags)``."""
        parts = ", ".join(f"{k} {v}" for k, v in self.by_reason.items())
        return (f"excluded {self.total} of {self.n_rows} responses flagged by quality checks "
                f"({parts}; a response may have several flags)")


def exclude_flagged(
    df: pd.DataFrame, reasons: Iterable[str] = REASONS
) -> tuple[pd.DataFrame, ExclusionReport]:
    """Drop rows with any of the quality flags named in ``reasons``.

    ``df`` must carry the flag columns (the export does; otherwise call
    :func:`add_quality_flags` first). Empty flag cells count as not flagged.

    Returns ``(kept_rows, report)``; ``report.by_reason`` maps ``speeder``, ``straightliner``
    and ``attention`` to the number of rows with that flag, ``report.total`` is the number of
    rows removed.
    """
    reasons = tuple(reasons)
    flagged = np.zeros(len(df), dtype=bool)
    counts: dict[str, int] = {}
    for reason in reasons:
        if reason not in REASONS:
            raise ValueError(f"unknown quality reason {reason!r}; known: {', '.join(REASONS)}")
        column = f"flag_{reason}"
        if column not in df.columns:
            raise AnalysisInputError(f"column '{column}' is missing (compute the flags with "
                                     "analysis.quality.add_quality_flags)")
        values = _numeric(df, column)
        bad = np.isfinite(values) & ~np.isin(values, (0, 1))
        if bad.any():
            raise AnalysisInputError(f"column '{column}': value {values[bad][0]:g} is not 0 or 1")
        hit = values == 1
        counts[reason] = int(hit.sum())
        flagged |= hit
    report = ExclusionReport(n_rows=len(df), by_reason=counts, total=int(flagged.sum()))
    return df.loc[~flagged], report


def quality_columns(present: Iterable[str]) -> list[str]:
    """The columns of a responses table that the quality flags are read or computed from.

    The export carries the three flag columns; a table without them needs ``duration_s`` and
    the answers to compute them: every column but the export's response id, its timestamps and
    its display-order columns (``order__…``), which no rule reads (parsing a million
    timestamps and ids costs a read a good part of its time).
    """
    present = list(present)
    if all(c in present for c in FLAG_COLUMNS):
        return ["wave", *FLAG_COLUMNS] if "wave" in present else list(FLAG_COLUMNS)
    return [c for c in present
            if c not in NOT_READ_BY_QUALITY_RULES and not c.startswith(ORDER_COLUMN_PREFIX)]


def exclude_flagged_by_default(
    df: pd.DataFrame,
    *,
    keep_flagged: bool = False,
    load_wave: Callable[[int], object] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The analysis commands' rule: drop quality-flagged responses unless ``keep_flagged``.

    Flags come from the table's flag columns (the export writes them) or, where it has none, are
    computed wave by wave from the wave definitions. A wave with no questionnaire definition
    (or a row with no wave) cannot be checked; it is kept and a message says so.

    Returns ``(rows kept, messages)``. The rows keep their order and their index, so later
    messages still name the row of the file (``row 60``). Messages are one line per wave for
    stderr, e.g. ``wave 2025: excluded 42 of 3000 responses flagged by quality checks (…)``.
    """
    if keep_flagged:
        return df, ["quality flags ignored (--keep-flagged): no response excluded"]
    has_flags = all(c in df.columns for c in FLAG_COLUMNS)
    if "wave" not in df.columns:
        if not has_flags:
            return df, ["no quality flags and no 'wave' column: no response excluded"]
        kept, report = exclude_flagged(df)
        return kept, [report.message()]
    if load_wave is None:
        from questionnaires import load_wave
    if not df.index.is_unique:  # rows are matched by index label below
        df = df.reset_index(drop=True)
    keep = np.ones(len(df), dtype=bool)
    messages = []
    waves = df["wave"]
    for year in sorted(waves.dropna().unique()):
        rows = np.flatnonzero((waves == year).to_numpy())
        part = df.iloc[rows]
        if not has_flags:
            try:
                wave = _load(load_wave, year)
            except AnalysisInputError:
                messages.append(f"wave {year}: no questionnaire definition, so quality flags "
                                "cannot be computed: no response excluded")
                continue
            part = add_quality_flags(part, lambda _year, w=wave: w)
        kept, report = exclude_flagged(part)
        if kept.empty:
            raise AnalysisInputError(f"wave {year}: every response is flagged by the quality "
                                     "checks (use --keep-flagged to keep them)")
        keep[rows] = part.index.isin(kept.index)
        messages.append(f"wave {year}: {report.message()}")
    return (df if keep.all() else df[keep]), messages
