"""Every error message of the wave loader, YAML syntax errors and missing files."""

import datetime as dt

import pytest

from questionnaires import QuestionnaireError, load_wave
from questionnaires.loader import WAVES_DIR

from .helpers import Replace, assert_error, page_entry, write_yaml

WAVE_FIELDS = (
    "closes, consent, local_items, norms_version, opens, pages, quality, schema, study, title, year"
)


def top(key, value):
    def mutate(d):
        if value is DELETE:
            del d[key]
        else:
            d[key] = value

    return mutate


def study(field, value):
    def mutate(d):
        if value is DELETE:
            del d["study"][field]
        else:
            d["study"][field] = value

    return mutate


def page(key, field, value):
    def mutate(d):
        p = page_entry(d, key)
        if value is DELETE:
            del p[field]
        else:
            p[field] = value

    return mutate


def add_item(key, entry):
    def mutate(d):
        page_entry(d, key)["items"].append(entry)

    return mutate


def show_if(value):
    """Replace the condition of N04_P4 (the only item of page N04_car)."""

    def mutate(d):
        page_entry(d, "N04_car")["items"][0]["show_if"] = value

    return mutate


def car_entry(**fields):
    def mutate(d):
        page_entry(d, "N04_car")["items"][0].update(fields)

    return mutate


def _condition_on_same_page(d):
    entry = page_entry(d, "N04_car")["items"][0]
    page_entry(d, "N04")["items"].append(entry)
    d["pages"] = [p for p in d["pages"] if p["key"] != "N04_car"]


def _condition_on_item_not_asked(d):
    page_entry(d, "N03")["items"].remove("N03_P3")
    page_entry(d, "N04_car")["items"][0]["show_if"] = {"item": "N03_P3", "values": [1]}


def _page_key(index, value):
    def mutate(d):
        if value is DELETE:
            del d["pages"][index]["key"]
        else:
            d["pages"][index]["key"] = value

    return mutate


DELETE = object()
COND = "show_if"

CASES = [
    # file level
    (
        "not-a-mapping",
        lambda d: Replace(["x"]),
        None,
        None,
        "a wave file must be a mapping with year, title, norms_version, opens, closes, consent, "
        "study, pages",
    ),
    (
        "unknown-field",
        top("closing", "2025-12-31"),
        None,
        "closing",
        f"unknown field (allowed: {WAVE_FIELDS})",
    ),
    *[
        (f"missing-{f}", top(f, DELETE), None, f, "missing")
        for f in ("year", "title", "norms_version", "opens", "closes", "consent", "study",
                  "pages")
    ],
    ("empty-consent", top("consent", None), None, "consent", "missing"),
    # study information for the consent page
    ("study-not-a-mapping", top("study", "us"), None, "study",
     "must be a mapping (key: value lines), got str 'us'"),
    ("study-unknown-field", study("sponsor", {"zh": "甲", "en": "A"}), None, "study.sponsor",
     "unknown field (allowed: contact, eligibility, organiser, purpose, retention)"),
    *[
        (f"study-missing-{f}", study(f, DELETE), None, f"study.{f}", "missing")
        for f in ("organiser", "contact", "purpose", "retention", "eligibility")
    ],
    ("study-missing-en", study("contact", {"zh": "邮箱"}), None, "study.contact",
     "missing en translation"),
    ("study-blank-zh", study("eligibility", {"zh": " ", "en": "Adults"}), None,
     "study.eligibility", "missing zh translation"),
    ("study-not-text", study("retention", "five years"), None, "study.retention",
     "must be a text with zh and en, got str 'five years'"),
    # quality settings
    ("quality-not-a-mapping", top("quality", 2), None, "quality",
     "must be a mapping (key: value lines), got int 2"),
    ("quality-unknown-field", top("quality", {"min_seconds": 1}), None, "quality.min_seconds",
     "unknown field (allowed: min_seconds_per_item)"),
    ("quality-missing-field", top("quality", {}), None, "quality.min_seconds_per_item",
     "missing"),
    ("quality-seconds-text", top("quality", {"min_seconds_per_item": "1s"}), None,
     "quality.min_seconds_per_item", "must be a number of seconds, got str '1s'"),
    ("quality-seconds-bool", top("quality", {"min_seconds_per_item": True}), None,
     "quality.min_seconds_per_item", "must be a number of seconds, got bool True"),
    ("quality-seconds-zero", top("quality", {"min_seconds_per_item": 0}), None,
     "quality.min_seconds_per_item", "must be above 0 and at most 60 seconds, got 0"),
    ("quality-seconds-huge", top("quality", {"min_seconds_per_item": 90.5}), None,
     "quality.min_seconds_per_item", "must be above 0 and at most 60 seconds, got 90.5"),
    ("year-not-int", top("year", "2025"), None, "year", "must be an integer, got str '2025'"),
    (
        "year-vs-file-name",
        top("year", 2024),
        None,
        "year",
        "year 2024 does not match the file name 2025.yaml",
    ),
    (
        "unknown-norms-version",
        top("norms_version", "2020"),
        None,
        "norms_version",
        "unknown norms version '2020' (2018, 2023)",
    ),
    (
        "bad-date",
        top("opens", "2025-13-01"),
        None,
        "opens",
        "bad date '2025-13-01' (write YYYY-MM-DD)",
    ),
    (
        "date-wrong-type",
        top("closes", 20251231),
        None,
        "closes",
        "bad date int 20251231 (write YYYY-MM-DD)",
    ),
    (
        "date-with-time",
        top("opens", dt.datetime(2025, 1, 1, 8, 0)),
        None,
        "opens",
        "must be a date (YYYY-MM-DD), not a date and time: 2025-01-01 08:00:00",
    ),
    (
        "opens-after-closes",
        lambda d: d.update(opens=dt.date(2025, 12, 31), closes=dt.date(2025, 1, 1)),
        None,
        "opens",
        "opens 2025-12-31 is after closes 2025-01-01",
    ),
    (
        "title-not-text",
        top("title", "Survey"),
        None,
        "title",
        "must be a text with zh and en, got str 'Survey'",
    ),
    ("title-missing-en", lambda d: d["title"].pop("en"), None, "title", "missing en translation"),
    (
        "consent-missing-zh",
        lambda d: d["consent"].pop("zh"),
        None,
        "consent",
        "missing zh translation of the consent text",
    ),
    (
        "consent-blank-en",
        lambda d: d["consent"].update(en="\n"),
        None,
        "consent",
        "missing en translation of the consent text",
    ),
    (
        "consent-not-text",
        top("consent", "I agree"),
        None,
        "consent",
        "the consent text must be a text with zh and en, got str 'I agree'",
    ),
    # pages
    (
        "pages-not-list",
        top("pages", {"N01": []}),
        None,
        "pages",
        "must be a list, got dict {'N01': []}",
    ),
    ("pages-empty", top("pages", []), None, "pages", "a wave needs at least one page"),
    (
        "page-not-mapping",
        lambda d: d["pages"].__setitem__(0, "about_you"),
        None,
        "pages #1",
        "must be a mapping (key: value lines), got str 'about_you'",
    ),
    ("page-missing-key", _page_key(1, DELETE), None, "pages #2.key", "missing"),
    (
        "page-key-not-str",
        _page_key(0, 5),
        None,
        "pages #1.key",
        "must be a non-empty text string, got int 5",
    ),
    (
        "page-key-with-space",
        _page_key(0, "about you"),
        None,
        "pages #1.key",
        "page keys are letters, digits, _ and - (they go in URLs)",
    ),
    ("page-duplicate-key", _page_key(2, "N01"), None, "pages.N01.key", "duplicate page key"),
    (
        "page-unknown-field",
        page("N01", "layout", "grid"),
        None,
        "pages.N01.layout",
        "unknown field (allowed: grid, items, key, norm, randomise, title)",
    ),
    ("page-missing-items", page("N01", "items", DELETE), None, "pages.N01.items", "missing"),
    ("page-unknown-norm", page("N01", "norm", "N11"), None, "pages.N01.norm", "unknown norm 'N11'"),
    (
        "page-norm-is-list",
        page("N01", "norm", ["N01"]),
        None,
        "pages.N01.norm",
        "unknown norm ['N01']",
    ),
    (
        "page-title-and-norm",
        page("N01", "title", {"zh": "甲", "en": "A"}),
        None,
        "pages.N01.title",
        "give either title or norm, not both",
    ),
    (
        "page-without-title",
        page("about_you", "title", DELETE),
        None,
        "pages.about_you.title",
        "missing (give a title or a norm code)",
    ),
    (
        "page-title-missing-zh",
        lambda d: page_entry(d, "about_you")["title"].pop("zh"),
        None,
        "pages.about_you.title",
        "missing zh translation",
    ),
    (
        "page-grid-not-bool",
        page("N01", "grid", "yes"),
        None,
        "pages.N01.grid",
        "must be true or false, got str 'yes'",
    ),
    (
        "page-items-not-list",
        page("N01", "items", "N01_A1"),
        None,
        "pages.N01.items",
        "must be a list, got str 'N01_A1'",
    ),
    (
        "page-items-empty",
        page("N01", "items", []),
        None,
        "pages.N01.items",
        "empty page (list at least one item)",
    ),
    # items
    ("unknown-item-code", add_item("N05", "N05_P9"), "N05_P9", "items", "unknown item code"),
    (
        "unknown-code-with-version",
        add_item("N02", "N02_P9@v2"),
        "N02_P9",
        "items",
        "unknown item code",
    ),
    (
        "bad-version-number",
        page("N02", "items", ["N02_A1", "N02_P3@v2"]),
        "N02_P3",
        "items",
        "bad version 'v2' (write N02_P3@<number>)",
    ),
    (
        "unknown-version",
        page("N02", "items", ["N02_P3@3"]),
        "N02_P3",
        "items",
        "unknown wording version 3 (the item bank has 1, 2)",
    ),
    (
        "duplicate-across-pages",
        add_item("N10", "N01_A1"),
        "N01_A1",
        "items",
        "duplicate item code (already on page 'N01')",
    ),
    (
        "duplicate-other-version",
        add_item("N02", "N02_P3@1"),
        "N02_P3",
        "items",
        "duplicate item code (already on page 'N02')",
    ),
    (
        "entry-wrong-type",
        add_item("N01", 5),
        None,
        "items",
        "an item entry must be a code or a mapping, got 5",
    ),
    (
        "entry-without-item",
        add_item("N01", {"code": "N01_P3"}),
        None,
        "items",
        "an item entry needs 'item: CODE' (page N01)",
    ),
    (
        "entry-unknown-field",
        car_entry(hide=True),
        "N04_P4",
        "hide",
        "unknown field (allowed: item, randomise_options, required, show_if)",
    ),
    (
        "entry-required-not-bool",
        car_entry(required="no"),
        "N04_P4",
        "required",
        "must be true or false, got str 'no'",
    ),
    # conditions
    (
        "condition-not-mapping",
        show_if(["N04_P3"]),
        "N04_P4",
        COND,
        "must be a mapping (key: value lines), got list ['N04_P3']",
    ),
    (
        "condition-unknown-field",
        show_if({"item": "N04_P3", "values": [1], "equals": 1}),
        "N04_P4",
        "show_if.equals",
        "unknown field (allowed: item, values)",
    ),
    (
        "condition-missing-values",
        show_if({"item": "N04_P3"}),
        "N04_P4",
        "show_if.values",
        "missing",
    ),
    ("condition-missing-item", show_if({"values": [1]}), "N04_P4", "show_if.item", "missing"),
    (
        "condition-item-not-str",
        show_if({"item": 5, "values": [1]}),
        "N04_P4",
        "show_if.item",
        "must be an item code, got 5",
    ),
    (
        "condition-on-itself",
        show_if({"item": "N04_P4", "values": [1]}),
        "N04_P4",
        "show_if.item",
        "an item cannot depend on its own answer",
    ),
    (
        "condition-unknown-item",
        show_if({"item": "N04_P9", "values": [1]}),
        "N04_P4",
        "show_if.item",
        "condition refers to unknown item 'N04_P9'",
    ),
    (
        "condition-later-item",
        show_if({"item": "N05_P1", "values": [1]}),
        "N04_P4",
        "show_if.item",
        "condition refers to 'N05_P1', which comes later in the wave (a condition can only use "
        "earlier answers)",
    ),
    (
        "condition-item-not-asked",
        _condition_on_item_not_asked,
        "N04_P4",
        "show_if.item",
        "condition refers to 'N03_P3', which this wave does not ask",
    ),
    (
        "condition-same-page",
        _condition_on_same_page,
        "N04_P4",
        "show_if.item",
        "condition refers to 'N04_P3' on the same page 'N04'; move one of them to another page",
    ),
    (
        "condition-values-not-list",
        show_if({"item": "N04_P3", "values": 1}),
        "N04_P4",
        "show_if.values",
        "must be a list, got int 1",
    ),
    (
        "condition-values-empty",
        show_if({"item": "N04_P3", "values": []}),
        "N04_P4",
        "show_if.values",
        "list at least one answer code",
    ),
    (
        "condition-value-not-int",
        show_if({"item": "N04_P3", "values": ["yes"]}),
        "N04_P4",
        "show_if.values",
        "must be an integer, got str 'yes'",
    ),
    (
        "condition-value-not-a-code",
        show_if({"item": "N04_P3", "values": [1, 6]}),
        "N04_P4",
        "show_if.values",
        "'N04_P3' has no answer code 6 (its codes: 1, 2, 3, 4, 5, 9)",
    ),
]


@pytest.mark.parametrize(
    "mutate, item, field, problem", [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_wave_error(tmp_path, wave_data, mutate, item, field, problem):
    result = mutate(wave_data)
    data = result.data if isinstance(result, Replace) else wave_data
    path = write_yaml(tmp_path / "2025.yaml", data)
    with pytest.raises(ValueError) as excinfo:
        load_wave(path)
    assert_error(excinfo, path, item, field, problem)


def test_valid_copy_loads(tmp_path, wave_data):
    """The mutations above start from a wave that loads: each test fails for its own reason."""
    wave = load_wave(write_yaml(tmp_path / "2025.yaml", wave_data))
    assert wave.to_dict()["pages"] == load_wave(2025).to_dict()["pages"]
    # a file not named after a year may hold any year
    assert load_wave(write_yaml(tmp_path / "pilot.yaml", wave_data)).year == 2025


def test_message_names_project_relative_file():
    err = QuestionnaireError(WAVES_DIR / "2025.yaml", "N05_P9", "items", "unknown item code")
    assert str(err) == (
        "questionnaires/waves/2025.yaml: item 'N05_P9', field 'items': unknown item code"
    )
    assert (err.file, err.item, err.field) == ("questionnaires/waves/2025.yaml", "N05_P9", "items")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\ntitle:\n  zh: 调查\n en: Survey\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    err = excinfo.value
    assert err.line == 4
    assert (err.item, err.field) == (None, None)
    assert str(err).startswith(f"{path}: item (none), field (none): YAML syntax error at line 4,")


def test_yaml_unclosed_bracket(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\npages:\n  - items: [N01_A1, N01_P1\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert excinfo.value.line == 4
    assert "YAML syntax error at line 4, column 1: expected ',' or ']'" in str(excinfo.value)


def test_yaml_duplicate_key_names_the_line(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\nopens: 2025-01-01\nopens: 2025-02-01\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert_error(
        excinfo,
        path,
        None,
        None,
        "YAML syntax error at line 3, column 1: found duplicate key 'opens'",
    )
    assert excinfo.value.line == 3


def test_empty_file(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert_error(
        excinfo,
        path,
        None,
        None,
        "a wave file must be a mapping with year, title, norms_version, opens, closes, consent, "
        "study, pages",
    )


def test_missing_file(tmp_path):
    path = tmp_path / "2031.yaml"
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert_error(excinfo, path, None, None, "file not found")


def test_missing_year():
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(2031)
    assert str(excinfo.value) == (
        "questionnaires/waves/2031.yaml: item (none), field (none): "
        "no wave file for 2031 (available: 2024, 2025, 2026)"
    )


def test_not_utf8(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_bytes("year: 2025\ntitle: 调查\n".encode("gb18030"))
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    # "title: " starts at offset 11, 调 is two GB18030 bytes after it
    assert_error(excinfo, path, None, None, "not UTF-8 text (byte 0xb5 at offset 18: invalid "
                 "start byte); save the file as UTF-8")


def test_load_wave_refuses_bool():
    with pytest.raises(TypeError):
        load_wave(True)


def test_yaml_reader_error(tmp_path):
    path = tmp_path / "2025.yaml"
    path.write_text("year: 2025\ntitle: x\x07\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert_error(
        excinfo, path, None, None, "YAML syntax error at line 2: unacceptable character #x0007"
    )
    assert excinfo.value.line == 2
