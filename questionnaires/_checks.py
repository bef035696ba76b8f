"""Small type checks shared by the loaders; each failure names the file, the item and the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from .errors import QuestionnaireError
from .model import LANGUAGES, Option, Text
from .safe_yaml import shown


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {shown(repr(value))}"  # a file can hold huge values


class Checker:
    """Validation helpers bound to one file."""

    def __init__(self, file: str | Path) -> None:
        self.file = file

    def fail(self, item: str | None, field: str | None, problem: str) -> NoReturn:
        raise QuestionnaireError(self.file, item, field, problem)

    # ---------------------------------------------------------------- shapes
    def mapping(self, value: Any, item: str | None, field: str | None) -> dict:
        if not isinstance(value, dict):
            self.fail(item, field, f"must be a mapping (key: value lines), got {_describe(value)}")
        return value

    def list_(self, value: Any, item: str | None, field: str | None) -> list:
        if not isinstance(value, list):
            self.fail(item, field, f"must be a list, got {_describe(value)}")
        return value

    def fields(
        self,
        d: dict,
        item: str | None,
        *,
        required: Iterable[str],
        optional: Iterable[str] = (),
        prefix: str = "",
    ) -> None:
        """Refuse unknown fields (typos) and report the first missing required one."""
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in d:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail(item, f"{prefix}{key}", f"unknown field (allowed: {known})")
        for key in required:
            if key not in d or d[key] is None:
                self.fail(item, f"{prefix}{key}", "missing")

    # ---------------------------------------------------------------- scalars
    def string(self, value: Any, item: str | None, field: str | None) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(item, field, f"must be a non-empty text string, got {_describe(value)}")
        return value

    def integer(self, value: Any, item: str | None, field: str | None) -> int:
        # bool is an int subclass in Python, but `yes` is never a valid code
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(item, field, f"must be an integer, got {_describe(value)}")
        return value

    def boolean(self, value: Any, item: str | None, field: str | None) -> bool:
        if not isinstance(value, bool):
            self.fail(item, field, f"must be true or false, got {_describe(value)}")
        return value

    def date(self, value: Any, item: str | None, field: str | None) -> dt.date:
        if isinstance(value, dt.datetime):
            self.fail(item, field, f"must be a date (YYYY-MM-DD), not a date and time: {value}")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                self.fail(item, field, f"bad date {value!r} (write YYYY-MM-DD)")
        self.fail(item, field, f"bad date {_describe(value)} (write YYYY-MM-DD)")

    def text(self, value: Any, item: str | None, field: str | None, what: str = "") -> Text:
        """A {zh, en} text; a missing or blank language is a missing translation.

        ``what`` names the text inside the field in messages ("version 2", "the label of option 3").
        """
        if not isinstance(value, dict):
            subject = f"{what} must" if what else "must"
            self.fail(item, field, f"{subject} be a text with zh and en, got {_describe(value)}")
        of, in_ = (f" of {what}", f" in {what}") if what else ("", "")
        for lang in value:
            if lang not in LANGUAGES:
                self.fail(item, field, f"unknown language {lang!r}{in_} (only zh and en)")
        for lang in LANGUAGES:
            text = value.get(lang)
            if text is None or (isinstance(text, str) and not text.strip()):
                self.fail(item, field, f"missing {lang} translation{of}")
            if not isinstance(text, str):
                self.fail(
                    item, field, f"the {lang} text{of} must be a string, got {_describe(text)}"
                )
        return {lang: value[lang].strip() for lang in LANGUAGES}

    # ---------------------------------------------------------------- options
    def option(
        self, value: Any, item: str | None, field: str, *, need_value: bool, position: int
    ) -> Option:
        d = self.mapping(value, item, field)
        allowed = {"code", "label", "value"}
        for key in d:
            if key not in allowed:
                self.fail(item, field, f"option #{position}: unknown field {key!r}")
        if "code" not in d:
            self.fail(item, field, f"option #{position}: missing code")
        code = d["code"]
        if not isinstance(code, int) or isinstance(code, bool):
            self.fail(item, field, f"option #{position}: code must be an integer, got {code!r}")
        label = self.text(d.get("label"), item, field, what=f"the label of option {code}")
        value_ = d.get("value")
        if value_ is None:
            if need_value:
                self.fail(
                    item, field, f"option {code}: missing value (the exported category string)"
                )
        elif not isinstance(value_, str) or not value_.strip():
            self.fail(item, field, f"option {code}: value must be a non-empty string")
        return Option(code=code, label=label, value=value_)

    def options(
        self, value: Any, item: str | None, field: str, *, need_value: bool
    ) -> tuple[Option, ...]:
        raw = self.list_(value, item, field)
        if not raw:
            self.fail(item, field, "empty option list")
        opts = tuple(
            self.option(o, item, field, need_value=need_value, position=n)
            for n, o in enumerate(raw, start=1)
        )
        seen_codes: set[int] = set()
        seen_values: set[str] = set()
        for o in opts:
            if o.code in seen_codes:
                self.fail(item, field, f"duplicate option code {o.code}")
            seen_codes.add(o.code)
            if o.value is not None:
                if o.value in seen_values:
                    self.fail(item, field, f"duplicate option value {o.value!r}")
                seen_values.add(o.value)
        return opts
