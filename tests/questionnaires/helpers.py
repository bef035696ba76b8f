"""Test helpers: write a mutated copy of a shipped questionnaire file, expect a precise error."""

from pathlib import Path

import yaml

from questionnaires import QuestionnaireError
from questionnaires.loader import ITEMS_FILE, WAVES_DIR
from questionnaires.reference import NORMS_FILE


def _read(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


BANK = _read(ITEMS_FILE)
WAVE = _read(WAVES_DIR / "2025.yaml")
NORMS = _read(NORMS_FILE)


class Replace:
    """Returned by a mutation that replaces the whole file's data."""

    def __init__(self, data):
        self.data = data


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def item_entry(data: dict, code: str) -> dict:
    """The item-bank entry of ``code`` in raw bank data."""
    return next(e for e in data["items"] if e.get("code") == code)


def page_entry(data: dict, key: str) -> dict:
    return next(p for p in data["pages"] if p.get("key") == key)


def assert_error(excinfo, path: Path, item, field, problem: str):
    """The error names the file, the item and the field, in the documented message format."""
    err = excinfo.value
    assert isinstance(err, QuestionnaireError) and isinstance(err, ValueError)
    assert err.file == str(path)
    assert err.item == item, str(err)
    assert err.field == field, str(err)
    item_s = f"item {item!r}" if item is not None else "item (none)"
    field_s = f"field {field!r}" if field is not None else "field (none)"
    prefix = f"{path}: {item_s}, {field_s}: "
    message = str(err)
    assert message.startswith(prefix), message
    assert message[len(prefix) :] == problem, message
    assert err.problem == problem
