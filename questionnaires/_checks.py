"""Small type checks shared by the loaders; each failure names the file, the item and the field.

Every text an administrator writes into a wave file or the item bank has a length bound
(:data:`TEXT_LIMITS`), so a pasted document or a runaway generator cannot put megabytes into the
database, every respondent's page and every export: the loader refuses it with the file, the
item, the field and the limit, and never echoes the text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from .errors import QuestionnaireError
from .model import LANGUAGES, Option, Text
from .safe_yaml import shown

# Longest text allowed, in characters per language, by what the text is: kind -> (characters,
# what the limit is for, as a message names it). The shipped files stay well under each (the
# consent ~1,700 characters in English, a question's wording ~240, a title ~60, a label ~40), so
# a real questionnaire never meets them. Listed in docs/questionnaires.md.
TEXT_LIMITS: dict[str, tuple[int, str]] = {
    # a wave's or a page's title (also the norms catalogue's titles)
    "title": (200, "a title"),
    # the consent text: a few screens of plain language
    "consent": (20_000, "the consent text"),
    # each study detail: organiser, contact, purpose, retention, eligibility
    "study": (2_000, "a study detail"),
    # the wording of a question (an item version's text)
    "item": (1_000, "a question's wording"),
    "label": (200, "an option label"),
    # a researcher's note on an item or an item version
    "note": (2_000, "a note"),
    # item codes, page keys, an option's exported value, version keys
    "name": (100, "a code, key or value"),
}


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

    def length(self, text: str, item: str | None, field: str | None, kind: str,
               subject: str) -> None:
        """Refuse ``text`` longer than the limit for ``kind`` (a key of TEXT_LIMITS); the
        message gives its length and the limit, never the text."""
        limit, what = TEXT_LIMITS[kind]
        if len(text) > limit:
            self.fail(item, field, f"{subject} is {len(text):,} characters long; {what} may have "
                                   f"at most {limit:,}")

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
    def string(self, value: Any, item: str | None, field: str | None, *,
               limit: str = "name") -> str:
        """A non-empty string of at most ``TEXT_LIMITS[limit]`` characters."""
        if not isinstance(value, str) or not value.strip():
            self.fail(item, field, f"must be a non-empty text string, got {_describe(value)}")
        self.length(value, item, field, limit, "the text")
        return value

    def integer(self, value: Any, item: str | None, field: str | None) -> int:
        # bool is an int subclass in Python, but `yes` is never a valid code
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(item, field, f"must be an integer, got {_describe(value)}")
        return value

    def number(self, value: Any, item: str | None, field: str | None, *, above: float,
               at_most: float, unit: str) -> float:
        """A number (int or float, never a bool) in ``(above, at_most]``."""
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            self.fail(item, field, f"must be a number of {unit}, got {_describe(value)}")
        if not above < value <= at_most:
            self.fail(item, field, f"must be above {above:g} and at most {at_most:g} {unit}, "
                                   f"got {value:g}")
        return float(value)

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

    def text(self, value: Any, item: str | None, field: str | None, what: str = "", *,
             limit: str = "title") -> Text:
        """A {zh, en} text; a missing or blank language is a missing translation; each language
        at most ``TEXT_LIMITS[limit]`` characters.

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
            self.length(text, item, field, limit, f"the {lang} text{of}")
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
        label = self.text(d.get("label"), item, field, what=f"the label of option {code}",
                          limit="label")
        value_ = d.get("value")
        if value_ is None:
            if need_value:
                self.fail(
                    item, field, f"option {code}: missing value (the exported category string)"
                )
        elif not isinstance(value_, str) or not value_.strip():
            self.fail(item, field, f"option {code}: value must be a non-empty string")
        else:
            self.length(value_, item, field, "name", f"the value of option {code}")
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
