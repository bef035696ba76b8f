"""Building XLSForm workbooks for the tests: the exporter's workbook of a shipped wave, changed
cell by cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from questionnaires import load_wave
from questionnaires.xlsform import XLSFormError, build_workbook, import_xlsform

EN = "label::English (en)"
ZH = "label::中文 (zh)"


class Form:
    """An exported wave's workbook, with helpers to find and change cells by heading."""

    def __init__(self, year: int = 2025) -> None:
        self.book = build_workbook(load_wave(year))

    def sheet(self, name: str):
        return self.book[name]

    def column(self, sheet: str, heading: str) -> int:
        """The 1-based column of ``heading``, added at the end when the sheet lacks it."""
        ws = self.sheet(sheet)
        for cell in ws[1]:
            if cell.value == heading:
                return cell.column
        ws.cell(row=1, column=ws.max_column + 1, value=heading)
        return ws.max_column

    def row_of(self, name: str, sheet: str = "survey") -> int:
        ws = self.sheet(sheet)
        name_column = self.column(sheet, "name")
        for row in range(2, ws.max_row + 1):
            if ws.cell(row=row, column=name_column).value == name:
                return row
        raise KeyError(name)

    def set(self, name: str, heading: str, value, sheet: str = "survey") -> int:
        """Set ``heading`` on the row named ``name``; returns the row."""
        row = self.row_of(name, sheet)
        self.set_cell(sheet, row, heading, value)
        return row

    def set_cell(self, sheet: str, row: int, heading: str, value) -> None:
        # ws.cell(..., value=None) would leave the cell as it was
        self.sheet(sheet).cell(row=row, column=self.column(sheet, heading)).value = value

    def save(self, path: Path) -> Path:
        self.book.save(path)
        return path


def import_error(path: Path, year: int = 2025, org: str | None = None) -> XLSFormError:
    with pytest.raises(XLSFormError) as excinfo:
        import_xlsform(path, year, org)
    return excinfo.value


def assert_at(error: XLSFormError, path: Path, sheet: str, row: int | None, column: str | None,
              problem: str) -> None:
    """The error names the file, the sheet, the row and the column, in its message too."""
    assert error.file == str(path), str(error)
    assert (error.sheet, error.row, error.column) == (sheet, row, column), str(error)
    message = str(error)
    assert message.startswith(f"{path}: sheet {sheet!r}, "), message
    if row is not None:
        assert f"row {row}, " in message, message
    if column is not None:
        assert f"column {column!r}" in message, message
    assert problem in message, message
    assert "\n" not in message
