"""Text cells that are safe to open in a spreadsheet, and the CSV files the export writes.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)`` can leak data; TAB and CR start one too in some programs).  Every text cell
the export writes (CSV, XLSX, SAV, DTA, the codebook and fieldwork CSVs) goes through
:func:`neutralise`, which puts an apostrophe in front, as OWASP recommends.  Numbers are never
changed: numeric cells are not text, and a text cell that is a plain number (``-3``, ``+2.5``)
cannot be a formula.

CSV files use the standard dialect (``\\r\\n`` line ends, minimal quoting): it quotes a value that
contains CR or LF, so the file reads back with the same number of rows.  (With ``\\n`` line ends
Python's csv module does not quote a lone CR, and most readers then split the row.)
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
UTF8_BOM = "\ufeff"


def neutralise(text: str) -> str:
    """``'=HYPERLINK(…)'`` → ``"'=HYPERLINK(…)"``; other text, and plain numbers, unchanged."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise_all(values: Iterable) -> list:
    """A row of cells: strings neutralised, everything else as it is."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


def open_csv(path: Path, *, bom: bool = False):
    """A text file for a CSV; with ``bom`` it starts with a UTF-8 byte-order mark, which Excel
    on Chinese Windows needs to read UTF-8 (without one it assumes GBK)."""
    return open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8")


def write_text_csv(path: Path, header: Sequence[str], rows: Iterable[dict], *,
                   bom: bool = False) -> None:
    """A CSV whose every cell is text (the codebook, the fieldwork summary), neutralised."""
    with open_csv(path, bom=bom) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(neutralise_all("" if row[c] is None else str(row[c])
                                           for c in header))
