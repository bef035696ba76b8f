"""Flask-WTF forms built from a wave definition.

A questionnaire page becomes a ``FlaskForm`` subclass with one ``AnswerField`` per *visible* item,
named by the item code (the export column's name), plus the hidden ``csrf_token``.  The classes are
built once per (questionnaire hash, page, visible items) and cached; templates render the inputs
themselves (``templates/survey/_question.html``) because WTForms' widget rendering is the slow part.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError

NOT_APPLICABLE = 9

# an answer code has one or two digits; anything much longer is not a person choosing an answer
ANSWER_MAX_LENGTH = 20
NOT_A_CODE = "?"


class MalformedAnswer(BadRequest):
    """An answer value no browser sends from our forms: characters outside ASCII (``²``,
    ``①``, Arabic-Indic digits, which Python's ``int()`` partly accepts) or a very long
    value (``int()`` refuses more than 4,300 digits with a ValueError).  The request is
    refused with the friendly 400 page instead of guessing what was meant."""

    reason = "answer"  # the error page explains this one (templates/errors/error.html)


def parse_answer(raw: str | None):
    """What the browser sent for one question → ``None`` (nothing chosen), an ``int`` (plain
    ASCII digits only) or ``NOT_A_CODE`` (something else, reported as an invalid answer).

    Raises ``MalformedAnswer`` for values that no form of ours can produce."""
    if raw is None or raw == "":
        return None
    if len(raw) > ANSWER_MAX_LENGTH or not raw.isascii():
        raise MalformedAnswer()
    if raw.isdigit():  # ASCII only (checked above): no signs, spaces, underscores or ² here
        return int(raw)
    return NOT_A_CODE


class AnswerField(Field):
    """One question's answer: an integer option code, or ``None`` when nothing was chosen.

    ``raw`` keeps what the browser sent so a rejected value can be shown again unchanged."""

    def __init__(self, label=None, validators=None, *, codes=(), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.codes = frozenset(codes)
        self.raw = None

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else None
        parsed = parse_answer(self.raw)
        if parsed is NOT_A_CODE:
            self.data = None
            self.raw = NOT_A_CODE  # an answer was sent but is not a code: the validator says so
        else:
            self.data = parsed

    def _value(self):
        return "" if self.data is None else str(self.data)


class ValidAnswer:
    """Required items need an answer; any answer must be one of the item's option codes."""

    def __init__(self, required: bool):
        self.required = required

    def __call__(self, form, field):
        if field.data is None and field.raw != NOT_A_CODE:
            if self.required:
                raise StopValidation(_l("Please choose an answer."))
            raise StopValidation()
        if field.data not in field.codes:
            raise ValidationError(_l("Please choose one of the answers shown."))


class ConsentForm(FlaskForm):
    """Agreeing to take part: just the button and the CSRF token."""


class ResumeForm(FlaskForm):
    """A resume code typed on another device; checked against the database in the view."""

    code = Field()

    def validate_code(self, field):  # WTForms calls validate_<name> for inline checks
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_l("Please enter your resume code."))


def item_codes(item) -> tuple[int, ...]:
    """All answer codes an item accepts, including 9 when it offers "not applicable"."""
    codes = tuple(option.code for option in item.options)
    if item.not_applicable is not None:
        codes += (item.not_applicable.code,)
    return codes


_FORM_CLASSES: dict[tuple, type[FlaskForm]] = {}


def page_form_class(wave, page, visible_codes) -> type[FlaskForm]:
    """The form class for ``page`` showing exactly ``visible_codes`` (cached per wave hash)."""
    visible = tuple(item.code for item in page.items if item.code in visible_codes)
    key = (wave.content_hash, page.key, visible)
    cls = _FORM_CLASSES.get(key)
    if cls is None:
        fields = {
            item.code: AnswerField(
                codes=item_codes(item), validators=[ValidAnswer(bool(item.required))]
            )
            for item in page.items
            if item.code in visible
        }
        cls = type(f"PageForm_{page.key}", (FlaskForm,), fields)
        if len(_FORM_CLASSES) > 4096:  # bounded: visible sets per page are few in practice
            _FORM_CLASSES.clear()
        _FORM_CLASSES[key] = cls
    return cls


# --------------------------------------------------------------------------- the fast path
# A page POST is validated without building a form object: the rules below are exactly those of
# ``AnswerField.process_formdata`` + ``ValidAnswer`` (tests/web/test_forms.py checks the two
# agree on every kind of input), with the item codes looked up once per wave and item.

_ITEM_CODES: dict[tuple, frozenset] = {}


def _codes_of(wave, item) -> frozenset:
    key = (wave.content_hash, item.code)
    codes = _ITEM_CODES.get(key)
    if codes is None:
        codes = _ITEM_CODES[key] = frozenset(item_codes(item))
    return codes


def validate_answers(wave, items, formdata, gettext):
    """Validate the posted answers to ``items`` as the page form would.

    Returns ``(values, errors)``: ``values[code]`` is the parsed answer (``None`` when nothing or
    something unusable was sent) for every item, ``errors[code]`` the first message of each item
    that fails, translated with ``gettext``."""
    values: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for item in items:
        code = item.code
        valuelist = formdata.getlist(code)
        parsed = parse_answer(valuelist[0] if valuelist else None)
        data = None if parsed is NOT_A_CODE else parsed
        values[code] = data
        if parsed is None:
            if item.required:
                errors[code] = gettext("Please choose an answer.")
        elif data not in _codes_of(wave, item):
            errors[code] = gettext("Please choose one of the answers shown.")
    return values, errors
