"""The shipped catalogue, item bank and waves load and hold what the issue asks for."""

import json

import pytest

import questionnaires as q
from questionnaires import NOT_APPLICABLE_CODE


@pytest.fixture(scope="module")
def bank():
    return q.load_item_bank()


@pytest.fixture(scope="module")
def norms():
    return q.load_norms()


def test_available_waves():
    assert q.available_waves() == [2024, 2025, 2026]


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_shipped_wave_loads(year):
    wave = q.load_wave(year)
    assert wave.year == year
    assert wave.norms_version == "2023"
    assert wave.opens.isoformat() == f"{year}-01-01"
    assert wave.closes.isoformat() == f"{year}-12-31"
    assert wave.source == f"questionnaires/waves/{year}.yaml"
    assert wave.pages[0].key == "about_you"
    assert [i.code for i in wave.pages[0].items] == [
        "sex",
        "age_group",
        "province",
        "urban_rural",
        "education",
    ]
    # every norm has its own grid page with its awareness and practice items
    for code in q.load_norms().codes:
        page = wave.page(code)
        assert page.grid
        assert {i.norm for i in page.items if i.kind != "attention"} == {code}
        assert sum(i.kind == "awareness" for i in page.items) == 1
        assert sum(i.kind == "practice" for i in page.items) >= 2
    attn = wave.items["ATTN1"]
    assert attn.kind == "attention" and attn.expected == 4
    assert attn.option(4).label["en"] == "often"
    assert any(attn in p.items and p.grid for p in wave.pages)


def test_wave_2024_uses_old_air_conditioning_wording():
    old, new = q.load_wave(2024).items["N02_P3"], q.load_wave(2025).items["N02_P3"]
    assert (old.wording_version, new.wording_version) == (1, 2)
    assert "26" in old.text["zh"] and "26" not in new.text["zh"]
    assert not q.comparable(old, new)
    assert q.comparable(q.load_wave(2025).items["N02_P3"], q.load_wave(2026).items["N02_P3"])
    assert q.comparable(q.load_wave(2024).items["N05_P1"], q.load_wave(2026).items["N05_P1"])


def test_all_ten_norms_have_awareness_and_practice_items(bank, norms):
    assert norms.codes == tuple(f"N{n:02d}" for n in range(1, 11))
    for code in norms.codes:
        awareness = bank.for_norm(code, "awareness")
        practice = bank.for_norm(code, "practice")
        assert [d.code for d in awareness][:1] == [f"{code}_A1"]
        assert len(practice) >= 2
        assert {f"{code}_P1", f"{code}_P2"} <= {d.code for d in practice}
        assert all(d.scale == "importance" for d in awareness)
        assert all(d.scale == "frequency" for d in practice)


def test_zh_and_en_everywhere(bank):
    for d in bank.values():
        for v in d.versions:
            assert v.text["zh"].strip() and v.text["en"].strip(), d.code
        for o in (*d.options, *([d.not_applicable] if d.not_applicable else [])):
            assert o.label["zh"].strip() and o.label["en"].strip(), (d.code, o.code)
    for year in q.available_waves():
        wave = q.load_wave(year)
        for text in (wave.title, wave.consent, *(p.title for p in wave.pages)):
            assert set(text) == {"zh", "en"} and all(t.strip() for t in text.values())


def test_scales(bank):
    importance = bank["N03_A1"]
    assert [o.code for o in importance.options] == [1, 2, 3, 4, 5]
    assert importance.options[0].label == {"zh": "一点也不重要", "en": "not at all important"}
    assert importance.options[-1].label == {"zh": "非常重要", "en": "extremely important"}
    assert importance.not_applicable is None
    freq = bank["N02_P3"]
    assert [o.label["zh"] for o in freq.options] == ["从不", "很少", "有时", "经常", "总是"]
    assert [o.label["en"] for o in freq.options] == [
        "never",
        "rarely",
        "sometimes",
        "often",
        "always",
    ]
    assert freq.not_applicable.code == NOT_APPLICABLE_CODE == 9
    assert freq.not_applicable.label == {"zh": "不适用", "en": "not applicable"}
    assert bank["N02_P1"].not_applicable is None


def test_demographic_values_match_the_export_contract(bank):
    values = {
        code: [o.value for o in bank[code].options]
        for code in ("sex", "age_group", "urban_rural", "education")
    }
    assert values == {
        "sex": ["male", "female"],
        "age_group": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
        "urban_rural": ["urban", "rural"],
        "education": [
            "below_primary",
            "primary",
            "junior_secondary",
            "senior_secondary",
            "university",
        ],
    }
    province = bank["province"]
    assert province.widget == "select"
    assert len(province.options) == 31
    assert province.options[0].code == 110000 and province.options[0].value == "110000"
    assert all(d.widget == "radio" for c, d in bank.items() if c != "province")


def test_provinces_and_regions():
    provinces = q.load_provinces()
    assert len(provinces) == 31
    assert q.region_of_province("110000") == "east"
    assert q.region_of_province(230000) == "northeast"
    assert q.region_of_province("420000") == "central"
    assert q.region_of_province("650000") == "west"
    counts = {}
    for p in provinces:
        counts[p.region] = counts.get(p.region, 0) + 1
    assert counts == {"east": 10, "central": 6, "west": 12, "northeast": 3}
    with pytest.raises(KeyError, match="unknown province code '990000'"):
        q.region_of_province("990000")


def test_round_trip_and_hash():
    for year in q.available_waves():
        wave = q.load_wave(year)
        d = wave.to_dict()
        again = q.Wave.from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
        assert again == wave
        assert again.to_dict() == d
        assert again.items == wave.items and list(again.items) == list(wave.items)
        assert again.content_hash == wave.content_hash
        assert len(wave.content_hash) == 64
    assert q.load_wave(2025).content_hash != q.load_wave(2026).content_hash


def test_condition_on_car_use():
    wave = q.load_wave(2025)
    follow_up = wave.items["N04_P4"]
    assert follow_up.condition == q.Condition("N04_P3", frozenset({1, 2, 3, 4, 5}))
    page = wave.page("N04_car")
    assert wave.visible_items(page, {"N04_P3": 3}) == (follow_up,)
    assert wave.visible_items("N04_car", {"N04_P3": 9}) == ()  # never travels by car
    assert wave.visible_items("N04_car", {}) == ()
    assert wave.visible_items("N04", {}) == wave.page("N04").items


def test_codebook_rows():
    wave = q.load_wave(2024)
    rows = q.codebook_rows(wave)
    items = [r["item"] for r in rows]
    # every export column: the items in questionnaire order among the other columns
    questions = [c for c, i in wave.items.items() if i.kind != "demographic"]
    assert [c for c in items if c in questions] == questions
    assert set(wave.items) <= set(items)
    assert items == q.export_columns(wave)
    assert all(tuple(r) == q.CODEBOOK_COLUMNS for r in rows)
    assert q.CODEBOOK_COLUMNS == (
        "wave",
        "item",
        "norm",
        "kind",
        "type",
        "wording_version",
        "text_zh",
        "text_en",
        "answer_labels_zh",
        "answer_labels_en",
        "not_applicable_code",
        "show_if",
        "page",
        "grid",
        "norms_version",
    )
    by_item = {r["item"]: r for r in rows}
    assert by_item["N02_P3"]["wording_version"] == "1"
    assert (
        by_item["N02_P3"]["answer_labels_zh"] == "1=从不; 2=很少; 3=有时; 4=经常; 5=总是; 9=不适用"
    )
    assert by_item["N02_P3"]["answer_labels_en"].endswith("; 9=not applicable")
    assert by_item["N02_P3"]["not_applicable_code"] == "9"
    assert by_item["N04_P4"]["show_if"] == "N04_P3 in {1,2,3,4,5}"
    assert by_item["sex"]["answer_labels_zh"] == "male=男; female=女"
    assert by_item["sex"]["answer_labels_en"] == "male=Male; female=Female"
    assert by_item["sex"]["norm"] == "" and by_item["ATTN1"]["kind"] == "attention"
    assert (by_item["region"]["kind"], by_item["region"]["type"]) == ("derived", "category")
    assert (by_item["response_id"]["kind"], by_item["response_id"]["type"]) == ("id", "text")
    assert by_item["duration_s"]["type"] == "number"
    assert by_item["started_at"]["type"] == "timestamp"
    assert by_item["wave"]["type"] == "integer" and by_item["wave"]["answer_labels_zh"] == ""


def test_not_applicable_items_say_when_to_choose_it(bank):
    for d in bank.values():
        for v in d.versions:
            says = "不适用" in v.text["zh"], "not applicable" in v.text["en"]
            assert says == ((True, True) if d.not_applicable else (False, False)), d.code
