"""Any wrongly typed value anywhere in a wave or item bank gives a QuestionnaireError.

Never a TypeError, KeyError or AttributeError: people editing YAML by hand get the file, the item
and the field. The data are validated in memory here (the file round trip is tested elsewhere).
"""

import copy
import datetime as dt
from pathlib import Path

import pytest

from questionnaires import QuestionnaireError, load_item_bank, load_norms
from questionnaires.loader import ITEMS_FILE, _BankParser, _WaveParser

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


# ------------------------------------------------------------------ hostile and malformed files
from questionnaires import load_wave  # noqa: E402
from questionnaires.safe_yaml import MAX_DEPTH, load_yaml_text  # noqa: E402

from .helpers import write_yaml  # noqa: E402


def billion_laughs(levels: int = 9) -> str:
    """The classic YAML bomb: nine levels of ten aliases each, 10**9 values in ~1 KB."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels + 1):
        refs = ",".join([f"*a{k - 1}"] * 10)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return "\n".join(lines) + "\n"


def _load_error(loader, path) -> QuestionnaireError:
    import time

    start = time.perf_counter()
    with pytest.raises(QuestionnaireError) as excinfo:
        loader(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    message = str(excinfo.value)
    assert len(message) < 300 and "\n" not in message, message
    return excinfo.value


@pytest.mark.parametrize("loader", [load_wave, load_item_bank, load_norms])
def test_billion_laughs_is_refused_quickly(tmp_path, loader):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\n" + billion_laughs() + "# " + "-" * 5000 + "\n",
                    encoding="utf-8")
    assert path.stat().st_size > 5000
    err = _load_error(loader, path)
    assert "YAML aliases expand the value at line" in err.problem
    assert "more than 10000 values beyond those written" in err.problem


def test_harmless_aliases_still_load():
    data = load_yaml_text("a: &x [1, 2, 3]\nb: *x\nc: *x\n")
    assert data == {"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3]}


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\nloop: &a [1, *a]\n", encoding="utf-8")
    err = _load_error(load_wave, path)
    assert err.problem == "a YAML alias at line 2 refers to a value that contains it"


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused(tmp_path, style):
    depth = 100_000 if style == "flow" else 200
    if style == "flow":
        text = "year: 2025\nx: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "year: 2025\n" + "".join(f"{'  ' * k}k{k}:\n" for k in range(depth)) + \
            "  " * depth + "v\n"
    path = tmp_path / "2025.yaml"
    path.write_text(text, encoding="utf-8")
    err = _load_error(load_wave, path)
    assert err.problem.startswith(f"nesting deeper than {MAX_DEPTH} levels at line ")


def test_file_size_cap(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\n" + "# padding\n" * 600_000, encoding="utf-8")
    err = _load_error(load_wave, path)
    assert err.problem.startswith("the file is 6000011 bytes, more than the limit of 5 MiB")


def test_not_utf8_names_the_offset(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_bytes("year: 2025\ntitle: 十条\n".encode("gbk"))
    err = _load_error(load_wave, path)
    # 十 (CA AE) happens to be valid UTF-8; 条 (CC F5) is not
    assert err.problem.startswith("not UTF-8 text (byte 0xcc at offset 20")


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "items.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + ITEMS_FILE.read_bytes())
    assert len(load_item_bank(path).values()) == len(load_item_bank().values())


def test_echoed_values_are_bounded(tmp_path):
    data = copy.deepcopy(WAVE)
    data["x" * 100_000] = 1  # an unknown field with a huge name
    err = _load_error(load_wave, write_yaml(tmp_path / "2025.yaml", data))
    assert "…" in str(err)
    data = copy.deepcopy(WAVE)
    data["title"] = {"zh": ["y" * 100_000], "en": "t"}  # a wrongly typed huge value
    err = _load_error(load_wave, write_yaml(tmp_path / "2025.yaml", data))
    assert "…" in str(err)
    key = "k" * 1000  # YAML's longest plain key
    path = tmp_path / "2025.yaml"
    path.write_text(f"year: 2025\n{key}: 1\n{key}: 2\n", encoding="utf-8")
    err = _load_error(load_wave, path)
    assert "found duplicate key 'kkkk" in str(err) and "…" in str(err)


def test_unreadable_path(tmp_path):
    folder = tmp_path / "2025.yaml"
    folder.mkdir()
    err = _load_error(load_wave, folder)
    assert err.problem == "cannot read the file (Is a directory)"
