"""Any wrongly typed value anywhere in a wave or item bank gives a QuestionnaireError.

Never a TypeError, KeyError or AttributeError: people editing YAML by hand get the file, the item
and the field. The data are validated in memory here (the file round trip is tested elsewhere).
"""

import copy
import datetime as dt
from pathlib import Path

import pytest

from questionnaires import QuestionnaireError, load_item_bank, load_norms
from questionnaires.loader import _BankParser, _WaveParser

from .helpers import BANK, WAVE

WRONG = [None, 5, "x", [], {}, [1], {"a": 1}, True, dt.date(2025, 1, 1)]


def _paths(obj, prefix=()):
    """Every location in nested data (the first few elements of long lists)."""
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj[:6]):
            yield from _paths(value, (*prefix, index))


def _replaced(base, path, value):
    data = copy.deepcopy(base)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _check_all(base, parse):
    cases = 0
    for path in list(_paths(base)):
        for value in WRONG:
            cases += 1
            try:
                parse(_replaced(base, path, value))
            except QuestionnaireError:
                pass
            except Exception as exc:  # pragma: no cover - the failure report
                pytest.fail(f"{path} = {value!r}: {type(exc).__name__}: {exc}")
    return cases


def test_wave_never_crashes():
    bank, norms = load_item_bank(), load_norms()

    def parse(data):
        _WaveParser(Path("2025.yaml"), bank, norms).parse_data(data)

    assert _check_all(WAVE, parse) > 500


def test_item_bank_never_crashes():
    norms = load_norms()
    sample = {"scales": BANK["scales"], "items": BANK["items"][:8] + BANK["items"][-6:]}

    def parse(data):
        _BankParser(Path("items.yaml"), norms).parse_data(data)

    assert _check_all(sample, parse) > 1000
