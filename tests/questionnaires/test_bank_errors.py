"""Every error message of the item-bank loader: file, item and field are named exactly."""

import copy

import pytest

from questionnaires import load_item_bank

from .helpers import Replace, assert_error, item_entry, write_yaml

ITEM_FIELDS = (
    "code, expected, kind, norm, not_applicable, note, options, options_from, required, "
    "scale, versions, widget"
)


def set_(code, key, value):
    def mutate(d):
        item_entry(d, code)[key] = value

    return mutate


def del_(code, key):
    def mutate(d):
        del item_entry(d, code)[key]

    return mutate


def scale_opt(scale, index, key, value):
    def mutate(d):
        d["scales"][scale]["options"][index][key] = value

    return mutate


def version(code, index, key, value):
    def mutate(d):
        item_entry(d, code)["versions"][index][key] = value

    return mutate


def text(code, lang, value, delete=False):
    def mutate(d):
        t = item_entry(d, code)["versions"][0]["text"]
        if delete:
            del t[lang]
        else:
            t[lang] = value

    return mutate


def _dup_item(d):
    d["items"].append(copy.deepcopy(item_entry(d, "N05_P1")))


def _first_pos(code):
    from .helpers import BANK

    return next(n for n, e in enumerate(BANK["items"], start=1) if e["code"] == code)


def _sex_scale(d):
    e = item_entry(d, "sex")
    del e["options"]
    e["scale"] = "frequency"


def _sex_scale_and_options(d):
    item_entry(d, "sex")["scale"] = "frequency"


def _na_clash(d):
    d["scales"]["frequency"]["options"].append({"code": 9, "label": {"zh": "甲", "en": "x"}})


def _swap_versions(d):
    item_entry(d, "N02_P3")["versions"].reverse()


def _dup_version(d):
    item_entry(d, "N02_P3")["versions"][1]["version"] = 1


def _del_label_en(d):
    del d["scales"]["importance"]["options"][2]["label"]["en"]


def _del_label(d):
    del d["scales"]["importance"]["options"][0]["label"]


def _del_option_code(d):
    del d["scales"]["importance"]["options"][2]["code"]


def _del_sex_value(d):
    del item_entry(d, "sex")["options"][1]["value"]


def _dup_education_value(d):
    item_entry(d, "education")["options"][1]["value"] = "below_primary"


def _reserved_code(d):
    item_entry(d, "ATTN1")["code"] = "N01_P9"


def _scale(key, value, scale="importance"):
    def mutate(d):
        if value is _DELETE:
            del d["scales"][scale][key]
        else:
            d["scales"][scale][key] = value

    return mutate


_DELETE = object()

CASES = [
    # unhashable values where a name is expected
    (
        "norm-is-list",
        set_("N05_P1", "norm", ["N05"]),
        "N05_P1",
        "norm",
        "unknown norm ['N05'] (expected N01..N10)",
    ),
    (
        "scale-is-list",
        set_("N05_P1", "scale", ["frequency"]),
        "N05_P1",
        "scale",
        "unknown scale ['frequency'] (known: importance, frequency)",
    ),
    # file level
    (
        "not-a-mapping",
        lambda d: Replace(["x"]),
        None,
        None,
        "the item bank must be a mapping with 'scales' and 'items'",
    ),
    (
        "unknown-top-field",
        lambda d: d.update(extra=1),
        None,
        "extra",
        "unknown field (allowed: items, scales, schema)",
    ),
    ("missing-scales", lambda d: d.pop("scales"), None, "scales", "missing"),
    ("missing-items", lambda d: d.pop("items"), None, "items", "missing"),
    (
        "scales-not-mapping",
        lambda d: d.update(scales=["importance"]),
        None,
        "scales",
        "must be a mapping (key: value lines), got list ['importance']",
    ),
    (
        "items-not-list",
        lambda d: d.update(items={"a": 1}),
        None,
        "items",
        "must be a list, got dict {'a': 1}",
    ),
    ("items-empty", lambda d: d.update(items=[]), None, "items", "the item bank has no items"),
    # scales and option lists
    (
        "scale-not-mapping",
        lambda d: d["scales"].update(importance=[1, 2]),
        "scale importance",
        None,
        "must be a mapping (key: value lines), got list [1, 2]",
    ),
    (
        "scale-unknown-field",
        _scale("labels", 1),
        "scale importance",
        "labels",
        "unknown field (allowed: not_applicable, options)",
    ),
    ("scale-missing-options", _scale("options", _DELETE), "scale importance", "options", "missing"),
    ("options-empty", _scale("options", []), "scale importance", "options", "empty option list"),
    (
        "options-not-list",
        _scale("options", "1-5"),
        "scale importance",
        "options",
        "must be a list, got str '1-5'",
    ),
    (
        "option-not-mapping",
        lambda d: d["scales"]["importance"]["options"].__setitem__(0, "low"),
        "scale importance",
        "options",
        "must be a mapping (key: value lines), got str 'low'",
    ),
    (
        "option-duplicate-code",
        scale_opt("importance", 1, "code", 1),
        "scale importance",
        "options",
        "duplicate option code 1",
    ),
    (
        "option-code-not-int",
        scale_opt("importance", 0, "code", "one"),
        "scale importance",
        "options",
        "option #1: code must be an integer, got 'one'",
    ),
    (
        "option-code-bool",
        scale_opt("importance", 0, "code", True),
        "scale importance",
        "options",
        "option #1: code must be an integer, got True",
    ),
    (
        "option-missing-code",
        _del_option_code,
        "scale importance",
        "options",
        "option #3: missing code",
    ),
    (
        "option-unknown-field",
        scale_opt("importance", 0, "colour", "red"),
        "scale importance",
        "options",
        "option #1: unknown field 'colour'",
    ),
    (
        "option-label-missing-en",
        _del_label_en,
        "scale importance",
        "options",
        "missing en translation of the label of option 3",
    ),
    (
        "option-label-missing",
        _del_label,
        "scale importance",
        "options",
        "the label of option 1 must be a text with zh and en, got nothing",
    ),
    (
        "option-value-not-str",
        scale_opt("importance", 0, "value", 3),
        "scale importance",
        "options",
        "option 1: value must be a non-empty string",
    ),
    (
        "na-code-not-9",
        lambda d: d["scales"]["frequency"]["not_applicable"].update(code=0),
        "scale frequency",
        "not_applicable",
        "the not-applicable code must be 9",
    ),
    (
        "na-code-clash",
        _na_clash,
        "scale frequency",
        "options",
        "option code 9 is reserved for not applicable",
    ),
    # item entries
    (
        "entry-not-mapping",
        lambda d: d["items"].__setitem__(0, "N01_A1"),
        "#1",
        None,
        "must be a mapping (key: value lines), got str 'N01_A1'",
    ),
    ("missing-code", lambda d: d["items"][1].pop("code"), "#2", "code", "missing"),
    (
        "code-not-str",
        lambda d: d["items"][0].update(code=5),
        "#1",
        "code",
        "must be a non-empty text string, got int 5",
    ),
    (
        "code-bad-chars",
        lambda d: d["items"][0].update(code="N01-A1"),
        "N01-A1",
        "code",
        "item codes are letters, digits and _ (e.g. N05_P1, sex)",
    ),
    (
        "duplicate-code",
        _dup_item,
        "N05_P1",
        "code",
        f"duplicate item code (first defined as entry #{_first_pos('N05_P1')})",
    ),
    (
        "unknown-item-field",
        set_("N05_P1", "text", "x"),
        "N05_P1",
        "text",
        f"unknown field (allowed: {ITEM_FIELDS})",
    ),
    ("missing-kind", del_("N05_P1", "kind"), "N05_P1", "kind", "missing"),
    ("missing-versions", del_("N05_P1", "versions"), "N05_P1", "versions", "missing"),
    (
        "unknown-kind",
        set_("N05_P1", "kind", "behaviour"),
        "N05_P1",
        "kind",
        "unknown kind 'behaviour' (expected awareness, practice, demographic, attention)",
    ),
    (
        "practice-without-norm",
        del_("N05_P1", "norm"),
        "N05_P1",
        "norm",
        "missing (every practice item belongs to a norm N01..N10)",
    ),
    (
        "unknown-norm",
        set_("N05_P1", "norm", "N11"),
        "N05_P1",
        "norm",
        "unknown norm 'N11' (expected N01..N10)",
    ),
    (
        "code-norm-mismatch",
        set_("N05_P1", "norm", "N04"),
        "N05_P1",
        "code",
        "practice items of N04 must be coded N04_P<number>",
    ),
    (
        "code-kind-mismatch",
        set_("N05_P1", "kind", "awareness"),
        "N05_P1",
        "code",
        "awareness items of N05 must be coded N05_A<number>",
    ),
    (
        "norm-on-demographic",
        set_("sex", "norm", "N01"),
        "sex",
        "norm",
        "demographic items belong to no norm; remove the field",
    ),
    (
        "reserved-code",
        _reserved_code,
        "N01_P9",
        "code",
        "codes like N01_P9 are reserved for awareness/practice items",
    ),
    # answers
    (
        "no-scale",
        del_("N05_P1", "scale"),
        "N05_P1",
        "scale",
        "give exactly one of scale, options or options_from",
    ),
    (
        "scale-and-options",
        _sex_scale_and_options,
        "sex",
        "scale",
        "give exactly one of scale, options or options_from (found scale, options)",
    ),
    (
        "unknown-scale",
        set_("N05_P1", "scale", "freq"),
        "N05_P1",
        "scale",
        "unknown scale 'freq' (known: importance, frequency)",
    ),
    (
        "na-without-scale-na",
        set_("N05_A1", "not_applicable", True),
        "N05_A1",
        "not_applicable",
        "scale 'importance' has no not-applicable option",
    ),
    (
        "na-not-bool",
        set_("N05_P1", "not_applicable", "yes"),
        "N05_P1",
        "not_applicable",
        "must be true or false, got str 'yes'",
    ),
    (
        "na-on-options-item",
        set_("sex", "not_applicable", True),
        "sex",
        "not_applicable",
        "only scale items can have a not-applicable option",
    ),
    (
        "demographic-missing-value",
        _del_sex_value,
        "sex",
        "options",
        "option 2: missing value (the exported category string)",
    ),
    (
        "demographic-duplicate-value",
        _dup_education_value,
        "education",
        "options",
        "duplicate option value 'below_primary'",
    ),
    (
        "demographic-empty-options",
        set_("sex", "options", []),
        "sex",
        "options",
        "empty option list",
    ),
    (
        "demographic-with-scale",
        _sex_scale,
        "sex",
        "scale",
        "demographic items need options with exported values",
    ),
    (
        "unknown-options-from",
        set_("province", "options_from", "cities"),
        "province",
        "options_from",
        "unknown option source 'cities' (only 'provinces')",
    ),
    (
        "unknown-widget",
        set_("N05_P1", "widget", "checkbox"),
        "N05_P1",
        "widget",
        "unknown widget 'checkbox' (expected radio or select)",
    ),
    (
        "expected-on-practice",
        set_("N05_P1", "expected", 4),
        "N05_P1",
        "expected",
        "only attention items have an expected answer",
    ),
    (
        "attention-without-expected",
        del_("ATTN1", "expected"),
        "ATTN1",
        "expected",
        "missing (the answer code an attentive person gives)",
    ),
    (
        "expected-not-int",
        set_("ATTN1", "expected", "often"),
        "ATTN1",
        "expected",
        "must be an integer, got str 'often'",
    ),
    (
        "expected-not-a-code",
        set_("ATTN1", "expected", 7),
        "ATTN1",
        "expected",
        "7 is not an answer code of this item",
    ),
    (
        "required-not-bool",
        set_("N05_P1", "required", "no"),
        "N05_P1",
        "required",
        "must be true or false, got str 'no'",
    ),
    (
        "note-not-str",
        set_("N05_A1", "note", 5),
        "N05_A1",
        "note",
        "must be a non-empty text string, got int 5",
    ),
    # versions and translations
    (
        "versions-not-list",
        set_("N05_P1", "versions", "v1"),
        "N05_P1",
        "versions",
        "must be a list, got str 'v1'",
    ),
    (
        "versions-empty",
        set_("N05_P1", "versions", []),
        "N05_P1",
        "versions",
        "empty version list (give at least version 1)",
    ),
    (
        "version-not-mapping",
        set_("N05_P1", "versions", [1]),
        "N05_P1",
        "versions",
        "must be a mapping (key: value lines), got int 1",
    ),
    (
        "version-unknown-field",
        version("N05_P1", 0, "wording", "x"),
        "N05_P1",
        "versions.wording",
        "unknown field (allowed: note, text, version)",
    ),
    (
        "version-missing-text",
        version("N05_P1", 0, "text", None),
        "N05_P1",
        "versions.text",
        "missing",
    ),
    (
        "version-missing-number",
        version("N05_P1", 0, "version", None),
        "N05_P1",
        "versions.version",
        "missing",
    ),
    (
        "version-not-int",
        version("N05_P1", 0, "version", "1"),
        "N05_P1",
        "versions.version",
        "must be an integer, got str '1'",
    ),
    (
        "version-zero",
        version("N05_P1", 0, "version", 0),
        "N05_P1",
        "versions.version",
        "version numbers start at 1, got 0",
    ),
    ("version-duplicate", _dup_version, "N02_P3", "versions.version", "duplicate version 1"),
    (
        "version-order",
        _swap_versions,
        "N02_P3",
        "versions.version",
        "list versions oldest first (1, 2, ...)",
    ),
    (
        "version-note-not-str",
        version("N02_P3", 0, "note", 3),
        "N02_P3",
        "versions.note",
        "must be a non-empty text string, got int 3",
    ),
    (
        "missing-zh",
        text("N05_P1", "zh", None, delete=True),
        "N05_P1",
        "versions.text",
        "missing zh translation of version 1",
    ),
    (
        "blank-en",
        text("N05_P1", "en", "   "),
        "N05_P1",
        "versions.text",
        "missing en translation of version 1",
    ),
    (
        "null-en",
        text("N05_P1", "en", None),
        "N05_P1",
        "versions.text",
        "missing en translation of version 1",
    ),
    (
        "unknown-language",
        text("N05_P1", "fr", "Combien"),
        "N05_P1",
        "versions.text",
        "unknown language 'fr' in version 1 (only zh and en)",
    ),
    (
        "text-not-mapping",
        version("N05_P1", 0, "text", "hello"),
        "N05_P1",
        "versions.text",
        "version 1 must be a text with zh and en, got str 'hello'",
    ),
    (
        "text-not-string",
        text("N05_P1", "zh", 5),
        "N05_P1",
        "versions.text",
        "the zh text of version 1 must be a string, got int 5",
    ),
]


@pytest.mark.parametrize(
    "mutate, item, field, problem", [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_item_bank_error(tmp_path, bank_data, mutate, item, field, problem):
    result = mutate(bank_data)
    data = result.data if isinstance(result, Replace) else bank_data
    path = write_yaml(tmp_path / "items.yaml", data)
    with pytest.raises(ValueError) as excinfo:
        load_item_bank(path)
    assert_error(excinfo, path, item, field, problem)


def test_valid_copy_loads(tmp_path, bank_data):
    """The mutations above start from a bank that loads: each test fails for its own reason."""
    bank = load_item_bank(write_yaml(tmp_path / "items.yaml", bank_data))
    assert list(bank) == list(load_item_bank())
