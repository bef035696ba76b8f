"""Every question type on the respondent's pages: its markup, what it accepts and the message
next to it (zh and en) when it does not, what is stored, and the export row and codebook."""

from __future__ import annotations

import re

import pytest

from tests.typed_wave import CHOICE_PAGES, typed_wave

from .codebook_check import assert_described
from .conftest import answer, install_wave
from .test_export_codebook import READERS, read_csv

YEAR = 2031
GOOD = {"DEMO_bins": ["1", "3"], "DEMO_trips": "12", "DEMO_spend": "12.50",
        "DEMO_comment": '=HYPERLINK("http://x") <b>好</b>'}
ERROR = re.compile(r'<p class="field-error" id="([A-Za-z0-9_]+)-error">([^<]*)</p>')


@pytest.fixture
def typed(app):
    wave = typed_wave(YEAR)
    install_wave(app, wave)
    return wave


def _to_local_page(client, lang="zh"):
    response = client.post(f"/{YEAR}/consent?lang={lang}")
    assert response.status_code == 303
    for key, data in CHOICE_PAGES.items():
        assert answer(client, YEAR, key, data).status_code == 303


def _errors(html: str) -> dict[str, str]:
    return dict(ERROR.findall(html))


def _post_local(client, data, lang="zh"):
    return client.post(f"/{YEAR}/page/local?lang={lang}", data={**data, "nav": "next"})


def test_each_type_renders_its_accessible_widget(app, typed):
    client = app.test_client()
    _to_local_page(client, "en")
    html = client.get(f"/{YEAR}/page/local?lang=en").text
    # multiple choice: a fieldset of check boxes with a hint tied to it
    assert '<fieldset class="question" id="q-DEMO_bins" aria-describedby="DEMO_bins-hint">' in html
    assert html.count('type="checkbox" name="DEMO_bins"') == 4
    assert '<p class="hint" id="DEMO_bins-hint">Choose up to 3 answers.</p>' in html
    # numbers: a label, the numeric keyboard, the unit and the range tied to the field
    assert '<label class="question-label" for="DEMO_trips"' in html
    assert re.search(r'id="DEMO_trips" inputmode="numeric"[^>]*aria-describedby="DEMO_trips-hint '
                     r'DEMO_trips-unit"', html)
    assert '<span class="unit" id="DEMO_trips-unit">trips</span>' in html
    assert "A whole number from 0 to 60." in html
    assert 'inputmode="decimal"' in html and ">yuan</span>" in html
    assert "with at most 2 digits after the decimal point" in html
    # text: a label and the length limit
    assert 'maxlength="100"' in html and "At most 100 characters." in html
    assert "<script" not in html.split("<main", 1)[1]


BAD = [
    ({"DEMO_bins": ["1", "2", "3", "4"]}, "DEMO_bins",
     "请最多选择3项。", "Please choose at most 3 answers."),
    ({"DEMO_bins": ["7"]}, "DEMO_bins",
     "请从列出的答案中选择一个。", "Please choose one of the answers shown."),
    ({"DEMO_bins": []}, "DEMO_bins", "请选择一个答案。", "Please choose an answer."),
    ({"DEMO_trips": "abc"}, "DEMO_trips", "请输入整数，不要带小数点或其他字符。",
     "Please enter a whole number, without a decimal point or other characters."),
    ({"DEMO_trips": "1.5"}, "DEMO_trips", "请输入整数，不要带小数点或其他字符。",
     "Please enter a whole number, without a decimal point or other characters."),
    ({"DEMO_trips": "61"}, "DEMO_trips", "请输入0到60之间的数值。",
     "Please enter a number from 0 to 60."),
    ({"DEMO_trips": "-1"}, "DEMO_trips", "请输入0到60之间的数值。",
     "Please enter a number from 0 to 60."),
    ({"DEMO_trips": "9" * 5000}, "DEMO_trips", "请输入0到60之间的数值。",
     "Please enter a number from 0 to 60."),
    ({"DEMO_trips": "１２"}, "DEMO_trips", "请用数字0到9输入数值。",
     "Please type the number with the digits 0 to 9."),
    ({"DEMO_trips": "٣"}, "DEMO_trips", "请用数字0到9输入数值。",
     "Please type the number with the digits 0 to 9."),
    ({"DEMO_trips": ""}, "DEMO_trips", "请填写答案。", "Please enter an answer."),
    ({"DEMO_spend": "12.345"}, "DEMO_spend", "请输入小数点后最多2位的数值。",
     "Please enter a number with at most 2 digits after the decimal point."),
    ({"DEMO_spend": "1e3"}, "DEMO_spend", "请输入一个数值，例如12.5。",
     "Please enter a number, such as 12.5."),
    ({"DEMO_spend": "NaN"}, "DEMO_spend", "请输入一个数值，例如12.5。",
     "Please enter a number, such as 12.5."),
    ({"DEMO_spend": "10000.01"}, "DEMO_spend", "请输入0到10000之间的数值。",
     "Please enter a number from 0 to 10000."),
    ({"DEMO_comment": "长" * 101}, "DEMO_comment", "请将回答缩短到100个字以内（现有101个字）。",
     "Please shorten your answer to at most 100 characters (it has 101)."),
    ({"DEMO_comment": "a" * 10_000}, "DEMO_comment",
     "请将回答缩短到100个字以内（现有10000个字）。",
     "Please shorten your answer to at most 100 characters (it has 10000)."),
    ({"DEMO_comment": "a\x00b"}, "DEMO_comment",
     "您的回答含有无法保存的不可见控制字符，请重新输入。",
     "Your answer contains invisible control characters that cannot be saved; please type it "
     "again."),
]


@pytest.mark.parametrize(("data", "code", "zh", "en"), BAD,
                         ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_answers_get_a_message_next_to_the_field(app, typed, data, code, zh, en):
    client = app.test_client()
    _to_local_page(client)
    for lang, message in (("zh", zh), ("en", en)):
        response = _post_local(client, {**GOOD, **data}, lang)
        assert response.status_code == 200, response.text[:500]
        assert _errors(response.text) == {code: message}
        html = response.text
        # the message is tied to the field and listed in the summary
        assert f'{code}-error' in re.search(rf'<(fieldset|input)[^>]*id="(q-)?{code}"[^>]*>',
                                            html).group(0)
        assert 'role="alert"' in html and f'href="#q-{code}"' in html


def test_what_was_typed_is_shown_again_escaped(app, typed):
    client = app.test_client()
    _to_local_page(client)
    html = _post_local(client, {**GOOD, "DEMO_trips": "<b>12</b>",
                                "DEMO_comment": "<script>alert(1)</script>" + "x" * 100}).text
    assert 'value="&lt;b&gt;12&lt;/b&gt;"' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_answers_are_stored_and_come_back_after_back(app, typed):
    client = app.test_client()
    _to_local_page(client)
    response = client.post(f"/{YEAR}/page/local", data={**GOOD, "nav": "back"})
    assert response.status_code == 303
    html = client.get(f"/{YEAR}/page/local?lang=en").text
    checked = re.findall(r'id="DEMO_bins-(\d)" value="\d" checked', html)
    assert checked == ["1", "3"]
    assert 'id="DEMO_trips"' in html and 'value="12"' in html
    assert 'value="12.5"' in html  # stored as written, without the trailing zero
    assert 'value="=HYPERLINK(&#34;http://x&#34;) &lt;b&gt;好&lt;/b&gt;"' in html


def test_optional_text_may_stay_empty_and_a_blank_text_is_no_answer(app, typed):
    client = app.test_client()
    _to_local_page(client)
    response = _post_local(client, {**GOOD, "DEMO_comment": "   "})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_the_export_row_and_codebook_of_every_type(app, runner, typed, tmp_path, suffix):
    client = app.test_client()
    _to_local_page(client)
    assert _post_local(client, GOOD).status_code == 303
    client = app.test_client()  # a second respondent leaves the optional text empty
    _to_local_page(client)
    assert _post_local(client, {**GOOD, "DEMO_bins": ["4"], "DEMO_trips": "0",
                                "DEMO_spend": "0.5", "DEMO_comment": ""}).status_code == 303
    out = tmp_path / f"responses{suffix}"
    result = runner.invoke(args=["export", "--wave", str(YEAR), "--out", str(out)])
    assert result.exit_code == 0, result.output
    columns, rows = READERS[suffix](out)
    _, book = read_csv(tmp_path / "responses.codebook.csv")
    seen = assert_described(columns, rows, book)
    local = [c for c in columns if c.startswith("DEMO_")]
    assert local == ["DEMO_bins__1", "DEMO_bins__2", "DEMO_bins__3", "DEMO_bins__4",
                     "DEMO_trips", "DEMO_spend", "DEMO_comment"]
    assert seen["DEMO_comment"] == 1
    first, second = rows
    assert [int(first[f"DEMO_bins__{k}"]) for k in range(1, 5)] == [1, 0, 1, 0]
    assert [int(second[f"DEMO_bins__{k}"]) for k in range(1, 5)] == [0, 0, 0, 1]
    assert float(first["DEMO_trips"]) == 12 and float(second["DEMO_trips"]) == 0
    assert float(first["DEMO_spend"]) == 12.5 and float(second["DEMO_spend"]) == 0.5
    comment = first["DEMO_comment"]
    if suffix == ".parquet":  # typed, never opened as a spreadsheet
        assert comment == GOOD["DEMO_comment"]
    else:  # a formula is neutralised
        assert comment == "'" + GOOD["DEMO_comment"]
    rows_of = {r["item"]: r for r in book}
    assert rows_of["DEMO_bins__2"]["text_en"] == ("Which sorting bins are near your home?: "
                                                   "Hazardous waste")
    assert rows_of["DEMO_bins__2"]["answer_labels_zh"] == "0=未选; 1=已选"
    assert (rows_of["DEMO_trips"]["type"], rows_of["DEMO_spend"]["type"],
            rows_of["DEMO_comment"]["type"]) == ("number", "number", "text")
    assert rows_of["DEMO_spend"]["text_zh"].endswith("[0–10000 元]")
    assert {rows_of[c]["kind"] for c in local} == {"local"}
