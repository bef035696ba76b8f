"""Error messages of the norms catalogue and province list loaders."""

import pytest

from questionnaires import QuestionnaireError, load_norms, load_provinces

from .helpers import Replace, assert_error, write_yaml


def article(version_index, code, key, value):
    def mutate(d):
        a = next(a for a in d["versions"][version_index]["articles"] if a["code"] == code)
        a[key] = value

    return mutate


def _drop_n10_2023(d):
    d["versions"][1]["articles"] = d["versions"][1]["articles"][:9]


def _twice(d):
    d["versions"][0]["articles"].append(dict(d["versions"][0]["articles"][0]))


CASES = [
    (
        "not-a-mapping",
        lambda d: Replace(["x"]),
        None,
        None,
        "must be a mapping (key: value lines), got list ['x']",
    ),
    (
        "versions-missing",
        lambda d: d.pop("versions"),
        None,
        "versions",
        "must be a list, got nothing",
    ),
    (
        "version-key-missing",
        lambda d: d["versions"][0].pop("key"),
        None,
        "versions.key",
        "must be a non-empty text string, got nothing",
    ),
    (
        "duplicate-version",
        lambda d: d["versions"][1].update(key="2018"),
        None,
        "versions.key",
        "duplicate norms version '2018'",
    ),
    (
        "version-title-missing-en",
        lambda d: d["versions"][1].pop("title_en"),
        None,
        "versions.2023.title",
        "missing en translation",
    ),
    (
        "bad-release-date",
        lambda d: d["versions"][1].update(public_release="June 2023"),
        None,
        "versions.2023.public_release",
        "bad date 'June 2023' (write YYYY-MM-DD)",
    ),
    (
        "missing-not-bool",
        article(0, "N02", "missing", "no"),
        "N02",
        "versions.2018.missing",
        "must be true or false, got str 'no'",
    ),
    (
        "empty-text-not-marked",
        article(1, "N02", "text_zh", ""),
        "N02",
        "versions.2023.text",
        "text is empty but the norm is not marked missing",
    ),
    (
        "article-title-missing-zh",
        article(0, "N03", "title_zh", None),
        "N03",
        "versions.2018.title",
        "missing zh translation",
    ),
    (
        "number-not-int",
        article(0, "N03", "number", "3"),
        "N03",
        "versions.2018.number",
        "must be an integer, got str '3'",
    ),
    ("listed-twice", _twice, "N01", "versions.2018", "norm listed twice in version 2018"),
    ("absent-from-version", _drop_n10_2023, "N10", "versions", "norm missing from version(s) 2023"),
    (
        "change-unknown-code",
        lambda d: d["changes_2018_to_2023"][0].update(code="N11"),
        "N11",
        "changes_2018_to_2023",
        "unknown norm code",
    ),
]


@pytest.mark.parametrize(
    "mutate, item, field, problem", [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_norms_error(tmp_path, norms_data, mutate, item, field, problem):
    result = mutate(norms_data)
    data = result.data if isinstance(result, Replace) else norms_data
    path = write_yaml(tmp_path / "norms.yaml", data)
    with pytest.raises(ValueError) as excinfo:
        load_norms(path)
    assert_error(excinfo, path, item, field, problem)


def test_norms_copy_loads(tmp_path, norms_data):
    catalogue = load_norms(write_yaml(tmp_path / "norms.yaml", norms_data))
    assert catalogue.norms == load_norms().norms


HEADER = "province_code,province_zh,province_en,region,population_2020\n"


@pytest.mark.parametrize(
    "content, item, field, problem",
    [
        (
            "code,zh\n110000,北京\n",
            None,
            None,
            "columns must be province_code, province_zh, province_en, region, population_2020",
        ),
        (HEADER + "1100,北京,Beijing,east,1\n", "1100", "province_code", "must be 6 digits"),
        (HEADER + "110000,北京,Beijing,north,1\n", "110000", "region", "unknown region 'north'"),
        (
            HEADER + "110000,北京,Beijing,east,many\n",
            "110000",
            "population_2020",
            "must be an integer, got 'many'",
        ),
    ],
    ids=["columns", "code", "region", "population"],
)
def test_provinces_error(tmp_path, content, item, field, problem):
    path = tmp_path / "provinces.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_provinces(path)
    assert_error(excinfo, path, item, field, problem)


def test_provinces_missing_file(tmp_path):
    path = tmp_path / "provinces.csv"
    with pytest.raises(QuestionnaireError) as excinfo:
        load_provinces(path)
    assert_error(excinfo, path, None, None, "file not found")
