"""Metadata that travels with the data: the codebook and the fieldwork summary of an export.

For a responses table ``X.csv`` / ``X.parquet`` / ``X.sav`` / ``X.dta`` / ``X.xlsx`` the
questionnaire behind each wave is read, in this order:

1. ``X.codebook.csv`` beside the file (the export's codebook, contract section 2; the old
   nine-column codebook ``wave,item,norm,kind,wording_version,text_zh,text_en,answer_labels_zh,
   answer_labels_en`` is read too);
2. for Parquet, the schema metadata key ``ten_norms.codebook`` (JSON list of codebook rows);
3. only when the data carry neither, the repository's wave file (:func:`questionnaires.load_wave`);
   (the codebook has no field for an attention check's expected answer: it comes from the item
   bank of the questionnaires package, and without it ``flag_attention`` is not computed);
4. with none of these, a definition made from the column names (``N04_P1`` is a practice item
   of N04, ``ATTN1`` an attention check, answers 1..5 and 9 = not applicable) whose wording
   versions are unknown: items with the same code are compared, and one note says so.

The codebook rows become :class:`questionnaires.Wave` objects (items with norm, kind, wording
version, options from the answer labels, "not applicable" from ``not_applicable_code``,
condition from ``show_if``, pages and grids from ``page``/``grid``), so code written against the
repository's wave definitions reads them unchanged. A malformed codebook is an
:class:`AnalysisInputError` naming the file, the row and the field.

The fieldwork summary ``X.fieldwork.csv`` (or ``ten_norms.fieldwork``; contract section 4) is
read into a DataFrame with columns :data:`FIELDWORK_COLUMNS`, ``None`` when absent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError

CODEBOOK_COLUMNS = ("wave", "item", "norm", "kind", "type", "wording_version", "text_zh",
                    "text_en", "answer_labels_zh", "answer_labels_en", "not_applicable_code",
                    "show_if", "page", "grid", "norms_version")
OLD_CODEBOOK_COLUMNS = ("wave", "item", "norm", "kind", "wording_version", "text_zh", "text_en",
                        "answer_labels_zh", "answer_labels_en")
FIELDWORK_COLUMNS = ("wave", "opens", "closes", "first_response_date", "last_response_date",
                     "started", "completed", "broken_off", "completion_rate")
CODEBOOK_KEY = "ten_norms.codebook"
FIELDWORK_KEY = "ten_norms.fieldwork"
# ``local``: a wave's own questions (an organisation's ``local_items``), in no norm
QUESTION_KINDS = ("awareness", "practice", "attention", "demographic", "local")
# codebook types of question columns that hold no answer codes: typed numbers (estimated as
# means) and free texts (exported for reading, never estimated)
NUMBER_TYPE, TEXT_TYPE = "number", "text"
OTHER_KINDS = ("id", "wave", "derived", "timestamp", "paradata", "flag")
# kinds whose columns hold integer answer codes (demographics export category values)
CODED_KINDS = ("awareness", "practice", "attention")
NOT_APPLICABLE_CODE = 9
SCALE_CODES = (1, 2, 3, 4, 5)
NO_METADATA = ("no codebook and no questionnaire definition, so wording versions could not be "
               "checked: items with the same code are compared as the same question (answer "
               "codes 1-5 and 9 assumed)")
# column names the analysis recognises without any metadata
_ITEM_NAME = re.compile(r"^(N\d\d)_([AP])\d+$")
_ATTENTION_NAME = re.compile(r"^ATTN\d+$")
_SHOW_IF = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s+\{([^}]*)\}\s*$")
# spreadsheet-formula neutralisation (contract section 5) adds a leading apostrophe
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")

__all__ = ["CODEBOOK_COLUMNS", "FIELDWORK_COLUMNS", "OLD_CODEBOOK_COLUMNS", "SurveyMetadata",
           "WaveMetadata", "columns_wave", "read_codebook", "read_fieldwork", "read_metadata",
           "sidecar_path", "valid_codes", "waves_from_codebook"]


@dataclass(frozen=True)
class WaveMetadata:
    """One wave's questionnaire definition and where it came from.

    ``source`` is ``"codebook"`` (a codebook file or Parquet metadata), ``"repository"`` (a wave
    file of this checkout) or ``"none"`` (made from the column names; wording versions unknown);
    ``origin`` names the file (or says what was used).
    """

    year: int
    definition: object  # questionnaires.Wave
    source: str
    origin: str

    @property
    def versions_known(self) -> bool:
        return self.source != "none"


@dataclass
class SurveyMetadata:
    """Per-wave metadata, the fieldwork rows and the notes reading them gave."""

    waves: dict[int, WaveMetadata]
    fieldwork: pd.DataFrame | None = None
    notes: list[tuple[str, str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- reading
def sidecar_path(data_path, suffix: str) -> Path:
    """``X.parquet`` -> ``X.codebook.csv`` (``suffix`` ``"codebook"``) beside it."""
    p = Path(data_path)
    return p.with_name(f"{p.stem}.{suffix}.csv")


def _parquet_key(path: Path, key: str) -> list[dict] | None:
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # the reader of the data reports a damaged file
        return None
    raw = meta.get(key.encode())
    if raw is None:
        return None
    try:
        rows = json.loads(raw)
    except ValueError as exc:
        raise AnalysisInputError(f"{path}: schema metadata '{key}' is not JSON ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise AnalysisInputError(f"{path}: schema metadata '{key}' is not a list of rows")
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]


def _read_csv_rows(path: Path, what: str) -> list[dict]:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the {what} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AnalysisInputError(f"{path}: not a readable {what} "
                                 f"({' '.join(str(exc).split())})") from None
    table = table.map(lambda v: _NEUTRALISED.sub("", v))
    return table.to_dict("records") if len(table.columns) else []


def read_codebook(data_path) -> tuple[list[dict], str] | None:
    """The codebook rows carried by ``data_path`` and where they came from, or ``None``."""
    path = Path(data_path)
    side = sidecar_path(path, "codebook")
    if side.is_file():
        rows = _read_csv_rows(side, "codebook")
        header = list(pd.read_csv(side, dtype=str, nrows=0).columns)
        _check_header(header, str(side))
        return rows, str(side)
    rows = _parquet_key(path, CODEBOOK_KEY)
    if rows is not None:
        origin = f"{path} (schema metadata {CODEBOOK_KEY})"
        _check_header(list(rows[0]) if rows else list(CODEBOOK_COLUMNS), origin)
        return rows, origin
    return None


def read_fieldwork(data_path) -> pd.DataFrame | None:
    """The fieldwork summary carried by ``data_path`` (one row per wave), or ``None``."""
    path = Path(data_path)
    side = sidecar_path(path, "fieldwork")
    if side.is_file():
        rows, origin = _read_csv_rows(side, "fieldwork summary"), str(side)
        header = list(pd.read_csv(side, dtype=str, nrows=0).columns)
    else:
        rows = _parquet_key(path, FIELDWORK_KEY)
        origin = f"{path} (schema metadata {FIELDWORK_KEY})"
        if rows is None:
            return None
        header = list(rows[0]) if rows else list(FIELDWORK_COLUMNS)
    return fieldwork_table(rows, origin, header)


def fieldwork_table(rows: Sequence[Mapping], origin: str,
                    header: Sequence[str] | None = None) -> pd.DataFrame:
    """Fieldwork rows as a typed DataFrame (dates as ``datetime.date``, counts int, rate float)."""
    header = list(rows[0]) if header is None and rows else list(header or FIELDWORK_COLUMNS)
    missing = [c for c in FIELDWORK_COLUMNS if c not in header]
    if missing:
        raise AnalysisInputError(f"{origin}: field '{missing[0]}' is missing (a fieldwork "
                                 f"summary has the columns {','.join(FIELDWORK_COLUMNS)})")
    out = []
    for n, row in enumerate(rows, start=1):
        rec = {"wave": _integer(row["wave"], origin, n, "wave")}
        for c in ("opens", "closes", "first_response_date", "last_response_date"):
            rec[c] = _date(row[c], origin, n, c)
        for c in ("started", "completed", "broken_off"):
            rec[c] = _integer(row[c], origin, n, c)
        rec["completion_rate"] = _number(row["completion_rate"], origin, n, "completion_rate")
        out.append(rec)
    table = pd.DataFrame(out, columns=list(FIELDWORK_COLUMNS))
    table.attrs["origin"] = origin  # where the rows came from, for later messages
    return table


def _where(origin: str, row: int, fieldname: str) -> str:
    return f"{origin}: row {row}, field '{fieldname}'"


def _integer(value: str, origin: str, row: int, fieldname: str, *, empty_ok=False):
    value = str(value).strip()
    if value == "" and empty_ok:
        return None
    try:
        return int(value)
    except ValueError:
        what = "empty" if value == "" else f"value '{value}' is not an integer"
        raise AnalysisInputError(f"{_where(origin, row, fieldname)}: {what}") from None


def _number(value: str, origin: str, row: int, fieldname: str) -> float:
    value = str(value).strip()
    if value == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        raise AnalysisInputError(f"{_where(origin, row, fieldname)}: value '{value}' is not a "
                                 "number") from None


def _date(value: str, origin: str, row: int, fieldname: str) -> dt.date | None:
    value = str(value).strip()
    if value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AnalysisInputError(f"{_where(origin, row, fieldname)}: value '{value}' is not an "
                                 "ISO date (YYYY-MM-DD)") from None


def _check_header(header: Sequence[str], origin: str) -> None:
    """The new codebook (every column of :data:`CODEBOOK_COLUMNS`) or the old nine columns; a
    header with any of the new columns must have them all."""
    have = set(header)
    newer = set(CODEBOOK_COLUMNS) - set(OLD_CODEBOOK_COLUMNS)
    expected = CODEBOOK_COLUMNS if have & newer else OLD_CODEBOOK_COLUMNS
    missing = [c for c in expected if c not in have]
    if missing:
        raise AnalysisInputError(f"{origin}: field '{missing[0]}' is missing (a codebook has the "
                                 f"columns {','.join(CODEBOOK_COLUMNS)})")


# --------------------------------------------------------------------------- waves from rows
def _labels(text: str, origin: str, row: int, fieldname: str) -> list[tuple[str, str]]:
    """``'1=从不; 2=很少'`` -> ``[('1', '从不'), ('2', '很少')]``."""
    out = []
    for part in str(text).split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, label = part.partition("=")
        if not sep or not key.strip():
            raise AnalysisInputError(f"{_where(origin, row, fieldname)}: '{part}' is not "
                                     "code=label")
        out.append((key.strip(), label.strip()))
    return out


def _options(row: Mapping, kind: str, origin: str, n: int):
    from questionnaires import Option

    zh = _labels(row["answer_labels_zh"], origin, n, "answer_labels_zh")
    if not zh:
        raise AnalysisInputError(f"{_where(origin, n, 'answer_labels_zh')}: empty (an item's "
                                 "answer codes are read from its labels: 1=…; 2=…)")
    en = _labels(row["answer_labels_en"], origin, n, "answer_labels_en")
    if [k for k, _ in zh] != [k for k, _ in en]:
        raise AnalysisInputError(f"{_where(origin, n, 'answer_labels_en')}: the codes "
                                 f"{', '.join(k for k, _ in en) or 'none'} differ from "
                                 f"answer_labels_zh's {', '.join(k for k, _ in zh) or 'none'}")
    options = []
    for pos, ((key, label_zh), (_, label_en)) in enumerate(zip(zh, en, strict=True), start=1):
        label = {"zh": label_zh, "en": label_en}
        if kind == "demographic":
            options.append(Option(code=pos, label=label, value=key))
        else:
            options.append(Option(code=_integer(key, origin, n, "answer_labels_zh"),
                                  label=label))
    return options


def _item(row: Mapping, origin: str, n: int):
    from questionnaires import Condition, Item

    kind = row["kind"].strip()
    code = row["item"].strip()
    if not code:
        raise AnalysisInputError(f"{_where(origin, n, 'item')}: empty")
    options = _options(row, kind, origin, n)
    na_field = row.get("not_applicable_code")
    if na_field is None:  # old codebook: "not applicable" is the option with code 9
        na_code = NOT_APPLICABLE_CODE if any(o.code == NOT_APPLICABLE_CODE and o.value is None
                                             for o in options) else None
    else:
        na_code = _integer(na_field, origin, n, "not_applicable_code", empty_ok=True)
    not_applicable = None
    if na_code is not None:
        match = [o for o in options if o.code == na_code and o.value is None]
        if not match:
            raise AnalysisInputError(f"{_where(origin, n, 'not_applicable_code')}: code "
                                     f"{na_code} is not among the answer labels")
        not_applicable = match[0]
        options = [o for o in options if o is not not_applicable]
    condition = None
    show_if = str(row.get("show_if", "")).strip()
    if show_if:
        m = _SHOW_IF.match(show_if)
        if m:
            values = [_integer(v, origin, n, "show_if")
                      for v in m.group(2).split(",") if v.strip()]
            condition = Condition(item=m.group(1), values=frozenset(values))
        else:  # a condition in the grammar of questionnaires/conditions.py
            condition = _condition_text(show_if, origin, n)
    return Item(code=code, norm=row["norm"].strip() or None, kind=kind,
                wording_version=_integer(row["wording_version"], origin, n, "wording_version"),
                text={"zh": row["text_zh"], "en": row["text_en"]}, options=tuple(options),
                not_applicable=not_applicable, required=False, condition=condition,
                expected=_expected_answer(code) if kind == "attention" else None)


def _condition_text(text: str, origin: str, n: int):
    from questionnaires.conditions import ConditionSyntaxError, parse_condition

    try:
        return parse_condition(text)
    except ConditionSyntaxError as error:
        raise AnalysisInputError(f"{_where(origin, n, 'show_if')}: '{text}' is not "
                                 f"'ITEM in {{v1,v2}}' nor a condition ({error})") from None


def _expected_answer(code: str) -> int | None:
    """The attention check's expected answer: the codebook has no field for it, so it comes
    from the item bank shipped with the questionnaires package (None for a check it lacks)."""
    from questionnaires import load_item_bank

    try:
        definition = load_item_bank().get(code)
    except Exception:  # noqa: BLE001 - no usable item bank: the answer is unknown
        return None
    return definition.expected if definition is not None else None


def _not_asked(row: Mapping) -> bool:
    """A weighting column the wave does not ask: the export describes it (labels from the item
    bank) with no wording version and no page."""
    return ("page" in row and not str(row["page"]).strip()
            and not str(row.get("wording_version", "")).strip())


def _grid(row: Mapping, origin: str, n: int) -> bool:
    value = str(row.get("grid", "")).strip()
    if value not in ("", "0", "1"):
        raise AnalysisInputError(f"{_where(origin, n, 'grid')}: value '{value}' is not 0 or 1")
    return value == "1"


def waves_from_codebook(rows: Sequence[Mapping], origin: str,
                        fieldwork: pd.DataFrame | None = None) -> dict[int, object]:
    """One :class:`questionnaires.Wave` per wave of the codebook ``rows`` (read from
    ``origin``); opening and closing dates come from ``fieldwork`` when given."""
    from questionnaires import Page

    per_wave: dict[int, dict] = {}
    for n, row in enumerate(rows, start=1):
        year = _integer(row.get("wave", ""), origin, n, "wave")
        kind = str(row.get("kind", "")).strip()
        if kind not in QUESTION_KINDS + OTHER_KINDS:
            raise AnalysisInputError(f"{_where(origin, n, 'kind')}: value '{kind}' is not one of "
                                     f"{', '.join(QUESTION_KINDS + OTHER_KINDS)}")
        w = per_wave.setdefault(year, {"pages": {}, "grid": {}, "norms_version": "",
                                      "codes": {}})
        version = str(row.get("norms_version", "")).strip()
        if version and w["norms_version"] and version != w["norms_version"]:
            raise AnalysisInputError(f"{_where(origin, n, 'norms_version')}: value '{version}' "
                                     f"differs from wave {year}'s '{w['norms_version']}'")
        w["norms_version"] = w["norms_version"] or version
        if kind not in QUESTION_KINDS or _not_asked(row):
            continue
        column_type = str(row.get("type", "")).strip()
        if column_type in (NUMBER_TYPE, TEXT_TYPE):  # no answer codes: not an item
            w.setdefault(column_type, set()).add(row["item"].strip())
            continue
        item = _item(row, origin, n)
        if item.code in w["codes"]:
            raise AnalysisInputError(f"{_where(origin, n, 'item')}: '{item.code}' is already "
                                     f"described for wave {year} (row {w['codes'][item.code]})")
        w["codes"][item.code] = n
        page = str(row.get("page", "")).strip() or ("items" if "page" not in row else item.code)
        w["pages"].setdefault(page, []).append(item)
        w["grid"][page] = w["grid"].get(page, False) or _grid(row, origin, n)
    dates = {}
    if fieldwork is not None:
        dates = {int(r.wave): (r.opens, r.closes) for r in fieldwork.itertuples()}
    out = {}
    for year, w in per_wave.items():
        pages = tuple(Page(key=k, title={"zh": k, "en": k}, items=tuple(items),
                           grid=w["grid"][k]) for k, items in w["pages"].items())
        opens, closes = dates.get(year, (None, None))
        out[year] = DataWave(year=year, title={"zh": f"{year}年调查", "en": f"{year} wave"},
                             norms_version=w["norms_version"], opens=opens, closes=closes,
                             consent={"zh": "", "en": ""}, pages=pages, source=origin)
        object.__setattr__(out[year], "free_text", frozenset(w.get(TEXT_TYPE, ())))
    return out


def free_text_columns(definition) -> frozenset[str]:
    """The columns of a wave's free-text questions (codebook ``type`` ``text``): exported for
    reading, never estimated.  A definition from the repository's wave file knows them from
    its items' question types."""
    known = getattr(definition, "free_text", None)
    if known is not None:
        return known
    items = getattr(definition, "items", {})
    return frozenset(code for code, item in items.items() if getattr(item, "type", "") == "text")


def columns_wave(year: int, columns: Iterable[str]):
    """A definition made from column names alone (no metadata): ``N04_P1`` a practice item of
    N04, ``ATTN1`` an attention check (expected answer unknown), answers 1..5 and 9 = not
    applicable, wording versions unknown (``None``), no grid pages."""
    from questionnaires import Item, Option, Page

    scale = tuple(Option(code=c, label={"zh": str(c), "en": str(c)}) for c in SCALE_CODES)
    na = Option(code=NOT_APPLICABLE_CODE, label={"zh": "不适用", "en": "not applicable"})
    items = []
    for col in columns:
        m = _ITEM_NAME.match(col)
        if m:
            kind = "awareness" if m.group(2) == "A" else "practice"
            items.append(Item(code=col, norm=m.group(1), kind=kind, wording_version=None,
                              text={"zh": col, "en": col}, options=scale, not_applicable=na))
        elif _ATTENTION_NAME.match(col):
            items.append(Item(code=col, norm=None, kind="attention", wording_version=None,
                              text={"zh": col, "en": col}, options=scale, not_applicable=na))
    page = Page(key="items", title={"zh": "", "en": ""}, items=tuple(items))
    return DataWave(year=year, title={"zh": f"{year}年调查", "en": f"{year} wave"},
                    norms_version="", opens=None, closes=None, consent={"zh": "", "en": ""},
                    pages=(page,), source="column names")


def valid_codes(definition) -> dict[str, frozenset[int]]:
    """Item column -> its valid answer codes (items whose columns hold integer codes)."""
    return {code: item.answer_codes for code, item in definition.items.items()
            if item.kind in CODED_KINDS}


def _wave_class():
    from questionnaires import Wave

    class DataWave(Wave):
        """A wave definition read from data: the dates are those of the fieldwork summary, or
        ``None`` when the data carry none."""

        __hash__ = Wave.__hash__
        free_text = frozenset()  # free-text columns (set per wave by waves_from_codebook)

        def to_dict(self) -> dict:
            opens, closes = self.opens, self.closes
            d = {"year": self.year, "title": dict(self.title),
                 "norms_version": self.norms_version,
                 "opens": opens.isoformat() if opens else None,
                 "closes": closes.isoformat() if closes else None,
                 "consent": dict(self.consent), "source": self.source,
                 "pages": [p.to_dict() for p in self.pages]}
            return {"schema": "ten-norms-wave/v1", **d}

    return DataWave


DataWave = _wave_class()


# --------------------------------------------------------------------------- everything
def read_metadata(source, years: Iterable[int], columns: Mapping[int, Sequence[str]], *,
                  codebook: Sequence[Mapping] | None = None,
                  fieldwork: pd.DataFrame | None = None,
                  load_wave=None, codebook_origin: str | None = None) -> SurveyMetadata:
    """The metadata of waves ``years`` of the data at ``source`` (a path, or ``None`` for data
    given in memory); ``columns`` gives each wave's columns with answers (for a definition made
    from column names).

    ``codebook`` (rows) and ``fieldwork`` override what lies beside the file. ``load_wave``
    replaces :func:`questionnaires.load_wave` as the repository fallback (tests give their own
    waves); giving it makes it the definition of every wave, ahead of any codebook.
    ``codebook_origin`` says where a given ``codebook`` came from (in messages).
    """
    years = sorted(int(y) for y in years)
    origin = codebook_origin or "the codebook given"
    if fieldwork is None and source is not None:
        fieldwork = read_fieldwork(source)
    if codebook is None and source is not None and load_wave is None:
        found = read_codebook(source)
        if found is not None:
            codebook, origin = found
    from_codebook = (waves_from_codebook(codebook, origin, fieldwork)
                     if codebook is not None and load_wave is None else {})
    meta = SurveyMetadata(waves={}, fieldwork=fieldwork)
    for year in years:
        if year in from_codebook:
            meta.waves[year] = WaveMetadata(year, from_codebook[year], "codebook", origin)
            continue
        definition = _repository_wave(year, load_wave)
        if definition is not None:
            meta.waves[year] = WaveMetadata(year, definition, "repository",
                                            getattr(definition, "source", "") or
                                            f"wave definition {year}")
        else:
            meta.waves[year] = WaveMetadata(year, columns_wave(year, columns[year]), "none",
                                            "column names")
    bare = [y for y in years if meta.waves[y].source == "none"]
    if bare:
        which = f"wave{'s' if len(bare) > 1 else ''} {', '.join(map(str, bare))}"
        meta.notes.append(("metadata", "", f"{which}: {NO_METADATA}"))
    return meta


def _repository_wave(year: int, load_wave):
    """The repository's wave file for ``year`` (``None`` when there is none), or what the
    given ``load_wave`` returns (its failure is one clear line)."""
    if load_wave is not None:
        try:
            return load_wave(year)
        except Exception as exc:  # noqa: BLE001 - any loader failure is one clear line
            raise AnalysisInputError(f"wave {year}: no usable questionnaire definition ({exc})"
                                     ) from None
    from questionnaires import load_wave as repository_wave
    from questionnaires.loader import wave_path

    if not wave_path(year).exists():
        return None
    try:
        return repository_wave(year)
    except Exception as exc:
        if exc.__class__.__name__ == "QuestionnaireError":
            raise AnalysisInputError(f"wave {year}: {exc}") from None
        raise
