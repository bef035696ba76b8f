"""Writing a table by its file name's ending: CSV, Parquet, SPSS ``.sav`` or Stata ``.dta``.

:data:`TABLE_WRITERS` maps a suffix to its writer (anything else is written as CSV); a new
format is one function and one entry. SPSS and Stata files carry variable labels and value
labels (:class:`Labels`) in the language asked for: an answer item's question text and answer
labels from the codebook the data came with (:func:`codebook_labels`), and fixed descriptions
of the columns the analysis adds (``weight``, ``source``, the result columns ``estimate``,
``se``, ...; :data:`COLUMN_LABELS`).

The formats' limits, checked before anything is written (an error is one line naming the
column, and the row for a value):

* Stata: variable names of at most 32 characters (letters, digits, ``_``, not starting with a
  digit), text values of at most 2045 bytes, value labels only for numeric columns (text
  columns such as ``sex`` keep their category values without labels; a note says which);
  variable labels are cut to 80 characters.
* SPSS: variable names of at most 64 bytes starting with a letter (letters, digits, ``_``,
  ``.``, ``@``, ``#``, ``$``), text values of at most 32767 bytes; variable labels are cut to
  256 bytes, value labels to 120 bytes.

Integers (also nullable ``Int64``) and booleans are stored as numbers (missing: the system
missing value), text as text (missing: empty, which :mod:`analysis.statfiles` reads back as
missing), times as Stata/SPSS date-times (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError, bounded

LANGUAGES = ("zh", "en")

# the columns the analysis adds or writes, described in both languages
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "response_id": {"zh": "答卷编号", "en": "response id"},
    "wave": {"zh": "调查年份（轮次）", "en": "survey wave (year)"},
    "source": {"zh": "数据来源（合并的调查）", "en": "source survey (pooled file)"},
    "weight": {"zh": "调查权重", "en": "survey weight"},
    "region": {"zh": "地区（国家统计局划分）", "en": "region (NBS definition)"},
    "duration_s": {"zh": "答题时长（秒）", "en": "response time (seconds)"},
    "started_at": {"zh": "开始时间（UTC）", "en": "started at (UTC)"},
    "submitted_at": {"zh": "提交时间（UTC）", "en": "submitted at (UTC)"},
    "flag_speeder": {"zh": "质量标记：答题过快", "en": "quality flag: speeder"},
    "flag_straightliner": {"zh": "质量标记：直线作答", "en": "quality flag: straight-liner"},
    "flag_attention": {"zh": "质量标记：未通过注意力检查",
                       "en": "quality flag: failed attention check"},
    "item": {"zh": "题目或指标", "en": "item or indicator"},
    "by": {"zh": "分组变量", "en": "domain variable"},
    "group": {"zh": "分组", "en": "domain group"},
    "estimate": {"zh": "估计值", "en": "estimate"},
    "se": {"zh": "标准误", "en": "standard error"},
    "ci_low": {"zh": "置信区间下限", "en": "confidence interval, lower bound"},
    "ci_high": {"zh": "置信区间上限", "en": "confidence interval, upper bound"},
    "n": {"zh": "样本量", "en": "number of responses"},
    "deff": {"zh": "设计效应", "en": "design effect"},
    "slope": {"zh": "每年斜率", "en": "slope per year"},
    "df": {"zh": "自由度", "en": "degrees of freedom"},
    "p_value": {"zh": "p 值", "en": "p-value"},
    "p_unadjusted": {"zh": "p 值（未校正）", "en": "p-value (not adjusted)"},
    "p_adjusted": {"zh": "p 值（多重检验校正）", "en": "p-value (adjusted for multiple tests)"},
}
FLAG_VALUE_LABELS = {"zh": {0: "否", 1: "是"}, "en": {0: "no", 1: "yes"}}


@dataclass(frozen=True)
class Labels:
    """Variable labels (column -> text) and value labels (column -> {value: text})."""

    variables: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping] = field(default_factory=dict)

    def merged(self, other: Labels) -> Labels:
        """These labels, with ``other``'s where both label a column."""
        return Labels({**self.variables, **other.variables}, {**self.values, **other.values})


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise AnalysisInputError(f"--language {language}: give zh or en")
    return language


def column_labels(columns: Iterable[str], language: str) -> Labels:
    """:data:`COLUMN_LABELS` of ``columns`` (and 0/1 labels of the quality flags)."""
    columns = list(columns)
    variables = {c: COLUMN_LABELS[c][language] for c in columns if c in COLUMN_LABELS}
    values = {c: FLAG_VALUE_LABELS[language] for c in columns if c.startswith("flag_")}
    return Labels(variables, values)


def codebook_labels(definitions: Iterable, language: str) -> Labels:
    """Labels of the items of questionnaire definitions (:class:`questionnaires.Wave`, oldest
    first: a later wave's wording wins): question text, answer labels (and "not applicable");
    a demographic's labels are keyed by its category value."""
    variables, values = {}, {}
    for definition in definitions:
        for code, item in definition.items.items():
            text = (item.text or {}).get(language, "")
            if text and text != code:
                variables[code] = text
            options = list(item.options) + ([item.not_applicable] if item.not_applicable else [])
            pairs = {(o.value if o.value is not None else o.code): o.label.get(language, "")
                     for o in options}
            pairs = {k: v for k, v in pairs.items() if v}
            if pairs:
                values[code] = pairs
    return Labels(variables, values)


# --------------------------------------------------------------------------- writers
def write_table(data: pd.DataFrame, path, labels: Labels | None = None) -> list[str]:
    """Write ``data`` in the format of ``path``'s suffix (:data:`TABLE_WRITERS`; CSV for any
    other). Returns notes for the user (labels shortened, labels a format cannot hold)."""
    path = Path(path)
    writer = TABLE_WRITERS.get(path.suffix.lower(), _write_csv)
    return writer(data, path, labels or Labels()) or []


def _write_csv(data: pd.DataFrame, path: Path, labels: Labels) -> list[str]:
    data.to_csv(path, index=False)
    return []


def _write_parquet(data: pd.DataFrame, path: Path, labels: Labels) -> list[str]:
    _uniform_objects(data).to_parquet(path, index=False)
    return []


def _uniform_objects(data: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing numbers and text (a result's ``wave``: a year, or empty) as text,
    so that Parquet and the statistics formats can type them."""
    out = data
    for col in data.columns:
        column = data[col]
        if column.dtype != object:
            continue
        kinds = {type(v) for v in column.dropna()}
        if len(kinds) > 1 or (kinds and not kinds <= {str}):
            if out is data:
                out = data.copy(deep=False)
            out[col] = column.map(lambda v: v if v is None or v != v else str(v))
    return out


@dataclass(frozen=True)
class StatisticsFormat:
    """What one statistics format accepts (the limits in the module docstring)."""

    name: str
    write: Callable
    valid_name: re.Pattern
    name_rule: str
    max_text_bytes: int
    fit_variable_label: Callable[[str], str]
    fit_value_label: Callable[[str], str]
    text_value_labels: bool


def _fit(text: str, max_bytes: int | None = None, max_chars: int | None = None) -> str:
    """``text`` shortened with an ellipsis to fit the limit (bytes in UTF-8, or characters)."""
    def fits(t: str) -> bool:
        return (max_bytes is None or len(t.encode()) <= max_bytes) and (
            max_chars is None or len(t) <= max_chars)

    if fits(text):
        return text
    cut = text
    while cut and not fits(cut + "…"):
        cut = cut[:-1]
    return cut + "…"


def _pyreadstat(function: str, **fixed):
    def write(frame, path, **labels):
        import pyreadstat

        getattr(pyreadstat, function)(frame, str(path), **fixed, **labels)
    return write


SAV = StatisticsFormat(
    "SPSS", _pyreadstat("write_sav"), re.compile(r"^[A-Za-z@#$][A-Za-z0-9_.@#$]*$"),
    "at most 64 bytes of letters, digits, _ . @ # $, starting with a letter", 32767,
    lambda t: _fit(t, max_bytes=256), lambda t: _fit(t, max_bytes=120), True)
DTA = StatisticsFormat(
    "Stata", _pyreadstat("write_dta", version=15), re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"),
    "at most 32 letters, digits or _, not starting with a digit", 2045,
    lambda t: _fit(t, max_chars=80), lambda t: _fit(t, max_chars=32000), False)
_NAME_LIMIT = {"SPSS": ("bytes", 64), "Stata": ("chars", 32)}


def _check_name(name: str, fmt: StatisticsFormat, path: Path) -> None:
    unit, limit = _NAME_LIMIT[fmt.name]
    size = len(name.encode()) if unit == "bytes" else len(name)
    if size > limit or not fmt.valid_name.match(name):
        raise AnalysisInputError(f"{path}: column '{bounded(name)}' cannot be a {fmt.name} "
                                 f"variable name ({fmt.name_rule}); rename it or write CSV "
                                 "or Parquet")


def _stored(column: pd.Series, fmt: StatisticsFormat, path: Path) -> pd.Series:
    """The column as the format stores it: numbers as float, times naive UTC, text as text."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return pd.Series(column.to_numpy(dtype=float, na_value=np.nan), index=column.index,
                         name=column.name)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return column.dt.tz_convert(None) if getattr(dtype, "tz", None) else column
    text = column.map(lambda v: "" if v is None or v != v else str(v)).astype(object)
    sizes = text.map(lambda v: len(v.encode()))
    if len(sizes) and sizes.max() > fmt.max_text_bytes:
        from analysis.design import row_name

        i = int(np.argmax(sizes.to_numpy() > fmt.max_text_bytes))
        raise AnalysisInputError(
            f"{path}: column '{column.name}', {row_name(column.to_frame(), i)}: text of "
            f"{sizes.iloc[i]} bytes, longer than {fmt.name}'s {fmt.max_text_bytes}; shorten "
            "it or write CSV or Parquet")
    return text


def _write_statistics(fmt: StatisticsFormat):
    def write(data: pd.DataFrame, path: Path, labels: Labels) -> list[str]:
        for name in data.columns:
            _check_name(str(name), fmt, path)
        frame = pd.DataFrame({c: _stored(data[c], fmt, path) for c in data.columns})
        notes, cut = [], 0
        variable_labels = {}
        for c in frame.columns:
            text = labels.variables.get(c)
            if text:
                variable_labels[c] = fmt.fit_variable_label(text)
                cut += variable_labels[c] != text
        value_labels, unlabelled = {}, []
        for c, pairs in labels.values.items():
            if c not in frame.columns or not pairs:
                continue
            numeric = frame[c].dtype.kind == "f"
            if numeric:
                pairs = {float(k): v for k, v in pairs.items() if _is_number(k)}
            elif fmt.text_value_labels:
                pairs = {str(k): v for k, v in pairs.items()}
            else:
                unlabelled.append(c)
                continue
            if pairs:
                value_labels[c] = {k: fmt.fit_value_label(str(v)) for k, v in pairs.items()}
        if cut:
            notes.append(f"{path}: {cut} variable label(s) shortened to the {fmt.name} limit")
        if unlabelled:
            notes.append(f"{path}: {fmt.name} labels only numeric values: "
                         f"{', '.join(unlabelled)} keep their values without value labels")
        try:
            fmt.write(frame, path, column_labels=variable_labels,
                      variable_value_labels=value_labels)
        except Exception as exc:  # pyreadstat raises its own types
            raise AnalysisInputError(f"{path}: cannot write the {fmt.name} file "
                                     f"({bounded(str(exc) or type(exc).__name__)})") from None
        return notes
    return write


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# by file suffix; anything else is written as CSV
TABLE_WRITERS: dict[str, Callable[[pd.DataFrame, Path, Labels], list[str]]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".pq": _write_parquet,
    ".sav": _write_statistics(SAV),
    ".dta": _write_statistics(DTA),
}
