"""Opening an .xlsx workbook someone sent us, and reading its sheets as rows of text.

A workbook is a zip of XML files, so a hostile one can be a zip bomb, carry macros or declare XML
entities. Before openpyxl parses anything this module checks the zip itself: its size, its member
count, each member's declared size and compression ratio, no macro project (``vbaProject.bin``,
a macro-enabled content type), no encrypted member, and no DOCTYPE or ENTITY declaration in any
XML member (an .xlsx never has one). openpyxl then parses the checked bytes from memory, through
defusedxml (a dependency for this reason), so nothing is read twice from a file that could change.

Every problem is an :class:`XLSFormError` naming the file and, where there is one, the sheet, the
row and the column; text from the file is echoed escaped and bounded (:func:`echo`).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import QuestionnaireError, display_path
from ..safe_yaml import shown

MIB = 1 << 20
MAX_FILE_BYTES = 10 * MIB  # the 2026 wave as XLSForm is about 20 KB
MAX_MEMBERS = 200  # an openpyxl workbook with three sheets has about 12
MAX_MEMBER_BYTES = 20 * MIB  # uncompressed, as the zip declares it
MAX_TOTAL_BYTES = 50 * MIB
# spreadsheet XML compresses about 5-20 to 1; a zip bomb 1000 to 1 and more. Small members are
# exempt (a few KB of repetitive styles can compress far better without harm).
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 256 * 1024
MAX_ROWS = 5_000  # per sheet
MAX_COLUMNS = 60
MAX_ECHO = 60  # characters of a cell a message echoes

MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
_MACRO_CONTENT_TYPE = re.compile(rb"macroEnabled|vbaProject", re.IGNORECASE)
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx


def echo(value) -> str:
    """``value`` for a message: one line, at most MAX_ECHO characters, quoted, and with
    control and invisible characters escaped (``repr``), so a cell cannot forge output."""
    return repr(shown(value, MAX_ECHO))


class XLSFormError(QuestionnaireError):
    """A workbook that cannot be imported. ``sheet``, ``row`` (1-based, as the spreadsheet
    numbers it) and ``column`` (the header, e.g. ``relevant``) say where, when there is a where;
    the message names them all, e.g. ``form.xlsx: sheet 'survey', row 7, column 'relevant' (F):
    reference to unknown field ${N04_P9}``."""

    def __init__(self, file: str | Path, problem: str, *, sheet: str | None = None,
                 row: int | None = None, column: str | None = None,
                 letter: str | None = None) -> None:
        self.file = display_path(file)
        self.sheet, self.row, self.column = sheet, row, column
        self.item, self.field, self.problem, self.line = None, column, problem, row
        where = []
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {shown(column, MAX_ECHO)!r}" + (f" ({letter})" if letter else ""))
        place = ", ".join(where)
        ValueError.__init__(self, f"{self.file}: {place + ': ' if place else ''}"
                                  f"{shown(problem, 400)}")


# --------------------------------------------------------------------------- the zip


def open_workbook(path: str | Path):
    """The openpyxl workbook of ``path`` (read-only), after the checks in the module text."""
    import openpyxl  # the survey's hot path never needs it

    path = Path(path)
    data = _checked_bytes(path)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                                      keep_links=False, keep_vba=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise XLSFormError(path, f"cannot read the workbook ({type(error).__name__}: "
                                 f"{shown(error, 120)}); save it again as .xlsx") from None


def _checked_bytes(path: Path) -> bytes:
    fail = lambda problem: XLSFormError(path, problem)  # noqa: E731
    if path.suffix.lower() in MACRO_SUFFIXES:
        raise fail(f"a macro-enabled or binary workbook ({path.suffix}) is refused; "
                   "save it as an .xlsx workbook (Excel removes the macros)")
    if path.suffix.lower() != ".xlsx":
        raise fail("not an .xlsx file (XLSForms are imported from Excel .xlsx workbooks)")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(f"the file is {size:,} bytes, more than the limit of "
                       f"{MAX_FILE_BYTES // MIB} MiB for a form")
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as error:
        raise fail(f"cannot read the file ({error.strerror or error})") from None
    if data.startswith(_OLE_MAGIC):
        raise fail("an Excel 97-2003 (.xls) or password-protected workbook; "
                   "save it as an .xlsx workbook without a password")
    if not data.startswith(b"PK"):
        raise fail("not an .xlsx workbook (not a zip file)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive, fail)
    except zipfile.BadZipFile as error:
        raise fail(f"not an .xlsx workbook (damaged zip: {shown(error, 80)})") from None
    return data


def _check_members(archive: zipfile.ZipFile, fail) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise fail(f"the workbook has {len(members):,} parts, more than {MAX_MEMBERS}; "
                   "it is not a spreadsheet this importer reads")
    total = 0
    for info in members:
        name = info.filename
        if name.lower().rsplit("/", 1)[-1] == "vbaproject.bin":
            raise fail("the workbook contains macros (vbaProject.bin) and is refused; "
                       "save it as an .xlsx workbook without macros")
        if info.flag_bits & 0x1:
            raise fail(f"the workbook part {echo(name)} is encrypted")
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            raise fail(f"the workbook part {echo(name)} unpacks to {info.file_size:,} bytes "
                       f"(limits: {MAX_MEMBER_BYTES // MIB} MiB a part, "
                       f"{MAX_TOTAL_BYTES // MIB} MiB in all); refused as a possible zip bomb")
        if (info.file_size > RATIO_EXEMPT_BYTES
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise fail(f"the workbook part {echo(name)} is compressed more than {MAX_RATIO} "
                       "to 1; refused as a possible zip bomb")
    for info in members:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            _check_xml(archive, info, fail)


def _check_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, fail) -> None:
    """No DOCTYPE or ENTITY declaration (entity expansion, external entities), UTF-8 only (so
    the byte search cannot be dodged with UTF-16)."""
    tail = b""
    first = True
    # zipfile stops at the declared size, which _check_members has bounded
    with archive.open(info) as stream:
        while chunk := stream.read(64 * 1024):
            if first and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise fail(f"the workbook part {echo(info.filename)} is not UTF-8 XML")
            first = False
            window = tail + chunk
            if _DECLARATION.search(window):
                raise fail(f"the workbook part {echo(info.filename)} declares a DOCTYPE or XML "
                           "entities, which no spreadsheet needs; refused")
            if info.filename == "[Content_Types].xml" and _MACRO_CONTENT_TYPE.search(window):
                raise fail("the workbook is macro-enabled (its content types say so) and is "
                           "refused; save it as an .xlsx workbook without macros")
            tail = window[-32:]


# --------------------------------------------------------------------------- sheets as rows


@dataclass(frozen=True)
class Header:
    """One column heading: ``base`` (``label``), ``language`` (``zh``/``en``/None) and the
    heading as written (``label::English (en)``), with its column letter."""

    written: str
    base: str
    language: str | None
    letter: str


@dataclass
class Sheet:
    """A sheet's headings and its data rows (row number -> column index -> text)."""

    file: Path
    name: str
    headers: list[Header]
    rows: list[tuple[int, list[str]]]

    def error(self, problem: str, row: int | None = None, column: int | str | None = None):
        """An XLSFormError at ``row`` and ``column`` (an index, or a heading as written)."""
        if isinstance(column, int):
            header = self.headers[column]
            return XLSFormError(self.file, problem, sheet=self.name, row=row,
                                column=header.written, letter=header.letter)
        letter = None
        for header in self.headers:
            if header.written == column:
                letter = header.letter
        return XLSFormError(self.file, problem, sheet=self.name, row=row, column=column,
                            letter=letter)

    def columns(self, base: str) -> list[int]:
        return [i for i, h in enumerate(self.headers) if h.base == base]


LANGUAGE_NAMES = {"zh": "中文 (zh)", "en": "English (en)"}
_LANGUAGE_TAG = re.compile(r"^(?:.*\(\s*(?P<tag>[A-Za-z-]+)\s*\)|(?P<bare>[A-Za-z-]+))\s*$")


def language_of(text: str) -> str | None:
    """'中文 (zh)', 'English (en)', 'zh', 'en' -> 'zh'/'en'; any other language -> None."""
    m = _LANGUAGE_TAG.match(text.strip())
    if not m:
        return None
    tag = (m.group("tag") or m.group("bare")).lower()
    return tag if tag in LANGUAGE_NAMES else None


def read_sheet(workbook, file: Path, name: str) -> Sheet | None:
    """The sheet called ``name`` (any letter case) as text, or None when there is none."""
    from openpyxl.utils import get_column_letter

    found = [ws for ws in workbook.worksheets if ws.title.strip().lower() == name]
    if not found:
        return None
    ws = found[0]
    sheet = Sheet(file=file, name=ws.title, headers=[], rows=[])
    for number, cells in enumerate(
            ws.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS + 1), start=1):
        texts = []
        for index, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                letter = get_column_letter(index + 1)
                heading = (sheet.headers[index].written if index < len(sheet.headers)
                           else letter)
                raise XLSFormError(file, "a formula; type the value itself", sheet=ws.title,
                                   row=number, column=heading, letter=letter)
            texts.append(cell_text(cell.value))
        if len(texts) > MAX_COLUMNS and texts[MAX_COLUMNS]:
            raise XLSFormError(file, f"more than {MAX_COLUMNS} columns", sheet=ws.title,
                               row=number, column=get_column_letter(MAX_COLUMNS + 1))
        texts = texts[:MAX_COLUMNS]
        if not any(texts):
            continue
        if number > MAX_ROWS:
            raise XLSFormError(file, f"more than {MAX_ROWS:,} rows", sheet=ws.title, row=number)
        if not sheet.headers:
            if number != 1:
                raise XLSFormError(file, "the first row must hold the column headings",
                                   sheet=ws.title, row=1)
            sheet.headers = [_header(t, get_column_letter(i + 1)) for i, t in enumerate(texts)]
            continue
        texts += [""] * (len(sheet.headers) - len(texts))
        for index in range(len(sheet.headers), len(texts)):
            if texts[index]:
                raise XLSFormError(file, "a value in a column without a heading",
                                   sheet=ws.title, row=number,
                                   column=get_column_letter(index + 1))
        sheet.rows.append((number, texts[:len(sheet.headers)]))
    return sheet


def _header(text: str, letter: str) -> Header:
    base, sep, language = text.partition("::")
    base = base.strip().lower().replace(" ", "_")
    return Header(written=text, base=base,
                  language=language_of(language) if sep else None, letter=letter)


def cell_text(value) -> str:
    """A cell's value as the text XLSForm means: numbers without '.0', dates as YYYY-MM-DD,
    TRUE/FALSE as true/false, text without surrounding blanks."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()
