"""Check that a responses table read back from any export format is described by its codebook:
every column has a codebook row (same order), and every value fits the row's type and labels."""

from __future__ import annotations

import datetime as dt
import math
import re

from questionnaires.codebook import category_values

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _integer(value) -> int:
    if isinstance(value, float):
        assert value.is_integer(), value
        return int(value)
    if isinstance(value, str):
        assert re.fullmatch(r"-?\d+", value), value
    return int(value)


def _check_value(row: dict[str, str], value) -> None:
    kind, type_ = row["kind"], row["type"]
    labelled = category_values(row)
    if type_ == "integer":
        code = _integer(value)
        if kind == "wave":
            assert code == int(row["wave"])
        else:
            assert str(code) in labelled, f"{row['item']}: code {code} not in {labelled}"
    elif type_ in ("category", "flag"):
        text = str(_integer(value)) if type_ == "flag" else str(value)
        assert text in labelled, f"{row['item']}: {text!r} not in {labelled}"
    elif type_ == "text" and kind == "id":
        assert isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value), value
    elif type_ == "text":  # a free-text answer: any text, formulas neutralised
        assert isinstance(value, str), value
    elif type_ == "timestamp":
        if isinstance(value, dt.datetime):
            assert value.utcoffset() in (None, dt.timedelta(0))
        else:
            assert ISO_UTC.match(str(value)), value
    elif type_ == "number" and kind == "paradata":
        assert float(value) >= 0
    elif type_ == "number":  # a typed number: within the range the question's text gives
        low, high = re.search(r"\[(-?[\d.]+)–(-?[\d.]+)", row["text_en"]).groups()
        assert float(low) <= float(value) <= float(high), (row["item"], value)
    else:
        raise AssertionError(f"{row['item']}: unknown type {type_!r}")


def assert_described(columns: list[str], rows: list[dict], book: list[dict[str, str]]) -> dict:
    """Every column and every value of ``rows`` is described by ``book``; returns how many
    non-empty values each column had (so a test can see the check was not vacuous)."""
    assert columns == [r["item"] for r in book], "codebook rows differ from the export columns"
    seen = dict.fromkeys(columns, 0)
    for entry in book:
        for record in rows:
            value = record[entry["item"]]
            if _empty(value):
                assert entry["kind"] not in ("id", "wave", "flag"), (
                    f"{entry['item']} is never empty")
                continue
            _check_value(entry, value)
            seen[entry["item"]] += 1
    return seen
