"""A new wave from the console: the item bank as a checklist, and the form's answers turned into
wave-file data that the questionnaire loader validates like any wave file (every rule, every
message), or an uploaded XLSForm read by the XLSForm importer.

Both give a ``questionnaires.Wave`` or a ``BuildProblem`` naming the form field it belongs to,
so the console can show the message next to that field."""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _

from questionnaires import QuestionnaireError, available_waves, load_item_bank, load_norms
from questionnaires import load_wave as load_wave_file
from questionnaires.loader import load_wave_data, org_code_problem
from questionnaires.model import STUDY_FIELDS
from questionnaires.safe_yaml import shown

YEAR = re.compile(r"\d{4}")
TEXT_FIELDS = ("title", "consent")
STUDY_FORM_FIELDS = tuple(f"study_{name}" for name in STUDY_FIELDS)
DATE_FIELDS = ("opens", "closes")
# the longest form value read (the loader's own limits are lower; this bounds what is echoed)
MAX_VALUE = 20_000
DEMOGRAPHICS_PAGE = {"key": "about_you", "title": {"zh": "关于您", "en": "About you"}}
# the speeder floor of the national waves (docs/questionnaires.md, "Quality settings")
QUALITY = {"min_seconds_per_item": 1}
SOURCE = "console form"
UPLOAD_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


@dataclass(frozen=True)
class BankGroup:
    """One fieldset of the checklist: a norm's items, the demographics or the checks."""

    key: str
    title: dict  # {zh, en}
    items: tuple  # (code, {zh, en} text) in bank order


class BuildProblem(Exception):
    """Why the form or the upload gives no wave: ``field`` is the form field it belongs to;
    ``reason`` one of ``REASONS`` (the console words it in the request's language) or None
    for a message of the loader or the importer (``message``, naming item and value)."""

    REASONS = ("year_digits", "no_items", "no_file", "too_large")

    def __init__(self, field: str, message: str = "", reason: str | None = None,
                 size: int = 0) -> None:
        assert reason is None or reason in self.REASONS, reason
        super().__init__(message or reason)
        self.field, self.message, self.reason, self.size = field, message, reason, size


BUILD_PROBLEMS = {
    "year_digits": lambda problem: _("Give the year as four digits, e.g. 2027."),
    "no_items": lambda problem: _("Choose at least one question."),
    "no_file": lambda problem: _("Choose an XLSForm file (.xlsx)."),
    "too_large": lambda problem: _("The file is larger than %(size)s KiB.", size=problem.size),
}


def problem_text(problem: BuildProblem) -> str:
    """The builder's own reasons in the request's language; the loader's and the importer's
    messages (which name the field, item and value) as they are (the console's form and the
    API's 422 both show this text)."""
    return BUILD_PROBLEMS[problem.reason](problem) if problem.reason else problem.message


def bank_groups() -> list[BankGroup]:
    """The item bank grouped for the checklist: demographics, each norm (newest norms
    version's title), the attention checks."""
    bank, norms = load_item_bank(), load_norms()
    version = newest_norms_version()
    by_group: dict[str, list] = {}
    for definition in bank.definitions.values():
        key = definition.norm or definition.kind
        text = definition.version(definition.latest_version).text
        by_group.setdefault(key, []).append((definition.code, dict(text)))
    titles = {"demographic": DEMOGRAPHICS_PAGE["title"],
              "attention": {"zh": "注意力检查", "en": "Attention checks"}}
    order = ["demographic", *norms.codes, "attention"]
    return [BankGroup(key=key, title=titles.get(key) or dict(norms.norm(key).title(version)),
                      items=tuple(by_group[key]))
            for key in order if key in by_group]


def items_of_groups(keys: list[str]) -> list[str]:
    """The item codes of whole checklist groups (norm codes such as ``N01``, ``demographic``,
    ``attention``), in bank order: the API's ``norms`` (raises ``BuildProblem`` naming an
    unknown group)."""
    groups = {group.key: group for group in bank_groups()}
    codes: list[str] = []
    for key in dict.fromkeys(keys):
        if key not in groups:
            known = ", ".join(groups)
            raise BuildProblem("norms", f"{shown(key, 64)}: not a norm of the item bank "
                                        f"(one of {known})")
        codes += [code for code, _text in groups[key].items]
    return codes


def newest_norms_version() -> str:
    return list(load_norms().versions)[-1]


def national_core() -> frozenset[str]:
    """The items of the newest national wave file: the checklist's pre-checked core."""
    years = available_waves()
    return frozenset(load_wave_file(years[-1]).items) if years else frozenset()


def wave_data(form: dict[str, str], chosen: list[str]) -> dict:
    """The wave-file data of the form's answers (validated later by the loader)."""
    year = form.get("year", "").strip()
    if not YEAR.fullmatch(year):
        raise BuildProblem("year", reason="year_digits")
    data = {
        "year": int(year),
        "norms_version": newest_norms_version(),
        "opens": form.get("opens", "").strip(),
        "closes": form.get("closes", "").strip(),
        **{name: _text(form, name) for name in TEXT_FIELDS},
        "study": {name: _text(form, f"study_{name}") for name in STUDY_FIELDS},
        "quality": dict(QUALITY),
        "pages": pages_of(chosen),
    }
    return data


def _text(form: dict[str, str], name: str) -> dict:
    return {lang: form.get(f"{name}_{lang}", "") for lang in ("zh", "en")}


def pages_of(chosen: list[str]) -> list[dict]:
    """One page for the demographics, one grid page per norm; attention checks go on the last
    norm page (inside a grid, where straight-liners miss them).  Unknown codes are kept so that
    the loader names them."""
    wanted = list(dict.fromkeys(chosen))
    bank = load_item_bank()
    groups: dict[str, list[str]] = {}
    for code in wanted:
        definition = bank.definitions.get(code)
        key = "unknown" if definition is None else (definition.norm or definition.kind)
        groups.setdefault(key, []).append(code)
    pages = []
    if "demographic" in groups:
        pages.append({**DEMOGRAPHICS_PAGE, "items": groups["demographic"]})
    norm_pages = [{"key": norm, "norm": norm, "grid": True, "items": groups[norm]}
                  for norm in load_norms().codes if norm in groups]
    pages += norm_pages
    extra = groups.get("attention", []) + groups.get("unknown", [])
    if extra and norm_pages:
        norm_pages[-1]["items"] = norm_pages[-1]["items"] + extra
    elif extra:
        pages.append({"key": "checks", "title": {"zh": "其他问题", "en": "Other questions"},
                      "items": extra})
    return pages


def field_of(error: QuestionnaireError) -> str:
    """The form field a loader error belongs to."""
    field = error.field or ""
    if field in ("year", *DATE_FIELDS, *TEXT_FIELDS):
        return field
    if field.startswith("study."):
        name = field.removeprefix("study.")
        return f"study_{name}" if name in STUDY_FIELDS else "study_organiser"
    return "items"


def build_from_form(form: dict[str, str], chosen: list[str]):
    """The validated wave of the form (raises ``BuildProblem``)."""
    data = wave_data(form, chosen)
    if not data["pages"]:
        raise BuildProblem("items", reason="no_items")
    try:
        wave = load_wave_data(data, SOURCE)
    except QuestionnaireError as error:
        raise BuildProblem(field_of(error), _without_file(error)) from None
    return dataclasses.replace(wave, source=SOURCE)  # not a file (the hash leaves it out)


def _without_file(error: QuestionnaireError) -> str:
    where = [] if error.item is None else [f"item {error.item!r}"]
    return ", ".join([*where, error.problem])


def local_prefix(org_code: str) -> str | None:
    """The prefix of an organisation's local items: its code in capitals, when that is a valid
    prefix (otherwise the form must name its local items itself)."""
    prefix = org_code.upper()
    return prefix if org_code_problem(prefix) is None else None


def build_from_upload(upload, year_text: str, org_code: str, limit: int):
    """The validated wave of an uploaded XLSForm (a werkzeug ``FileStorage``), read by the
    XLSForm importer (which refuses hostile workbooks) from a private temporary folder."""
    from questionnaires.xlsform import import_xlsform

    year_text = year_text.strip()
    if not YEAR.fullmatch(year_text):
        raise BuildProblem("upload_year", reason="year_digits")
    if upload is None or not upload.filename:
        raise BuildProblem("form_file", reason="no_file")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise BuildProblem("form_file", reason="too_large", size=limit // 1024)
    suffix = Path(upload.filename).suffix
    name = "form" + (suffix.lower() if UPLOAD_SUFFIX.fullmatch(suffix) else "")
    folder = Path(tempfile.mkdtemp(prefix="survey-xlsform-"))
    try:
        path = folder / name
        path.write_bytes(data)
        wave = import_xlsform(path, int(year_text), local_prefix(org_code)).wave
    except QuestionnaireError as error:
        # the message names the temporary file: name the upload instead
        message = str(error).replace(str(path), name)
        raise BuildProblem("form_file", message) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dataclasses.replace(wave, source=f"XLSForm {shown(upload.filename, 200)}")
