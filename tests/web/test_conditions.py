"""A wave with compound show-if conditions and randomised order on the respondent's pages: which
pages and questions appear, "required" only when shown, each response's own order (the same on
every view), and the order columns of the export and its codebook."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from questionnaires.presentation import item_order, option_order
from tests.questionnaires.test_conditions import conditions_wave_data, parse
from tests.typed_wave import CHOICE_PAGES

from .codebook_check import assert_described
from .conftest import answer, install_wave
from .test_export_codebook import read_csv

YEAR = 2031
LOCAL = {"DEMO_bins": ["1"], "DEMO_trips": "3", "DEMO_spend": "1.5", "DEMO_comment": ""}
QUESTION = re.compile(r'id="q-([A-Za-z0-9_]+)"')


def _wave_data(randomised: bool = False) -> dict:
    """The follow-up page asks DEMO_follow (required) only when sex = 2 and (N05_P1 != 9 or
    any_of(DEMO_bins, 3)); a page 'extra' before it is shown only for
    any_of(DEMO_bins, 2) and not answered(DEMO_comment)."""
    data = conditions_wave_data()
    data["local_items"].append({"code": "DEMO_extra", "scale": "frequency",
                                "text": {"zh": "额外的问题", "en": "An extra question"}})
    data["pages"].insert(-1, {"key": "extra", "title": {"zh": "额外", "en": "Extra"},
                              "items": [{"item": "DEMO_extra", "show_if":
                                         "any_of(DEMO_bins, 2) and not answered(DEMO_comment)"}]})
    if randomised:
        data["pages"][-1]["randomise"] = "items"
        data["pages"][-1]["items"][1] = {"item": "DEMO_colour", "randomise_options": True}
        data["pages"][-1]["items"].append("N01_A1")
    return data


@pytest.fixture
def compound(app):
    wave = parse(_wave_data())
    install_wave(app, wave)
    return wave


@pytest.fixture
def randomised(app):
    wave = parse(_wave_data(randomised=True))
    install_wave(app, wave)
    return wave


def _walk(client, sex="2", n05_p1="4", local=LOCAL):
    """Consent and answer every page up to the local page; returns where that leads."""
    assert client.post(f"/{YEAR}/consent").status_code == 303
    pages = {**CHOICE_PAGES, "about_you": {**CHOICE_PAGES["about_you"], "sex": sex},
             "N05": {**CHOICE_PAGES["N05"], "N05_P1": n05_p1}}
    for key, data in pages.items():
        assert answer(client, YEAR, key, data).status_code == 303
    response = answer(client, YEAR, "local", local)
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def _questions(html: str) -> list[str]:
    return QUESTION.findall(html)


@pytest.mark.parametrize("sex, n05_p1, bins, shown", [
    ("2", "4", ["1"], True),  # sex = 2 and N05_P1 != 9
    ("1", "4", ["1"], False),  # sex = 1
    ("2", "9", ["1"], False),  # N05_P1 = 9 and bin 3 not chosen
    ("2", "9", ["1", "3"], True),  # N05_P1 = 9 but bin 3 chosen
])
def test_a_compound_condition_shows_and_hides_a_question(app, compound, sex, n05_p1, bins,
                                                         shown):
    client = app.test_client()
    target = _walk(client, sex, n05_p1, {**LOCAL, "DEMO_bins": bins})
    assert target.endswith("/page/follow")
    html = client.get(target).text
    assert _questions(html) == (["DEMO_follow", "DEMO_colour"] if shown else ["DEMO_colour"])
    # required only when shown: without an answer, a shown DEMO_follow stops the submission
    response = answer(client, YEAR, "follow", {"DEMO_colour": "2"})
    if shown:
        assert response.status_code == 200 and 'id="DEMO_follow-error"' in response.text
        response = answer(client, YEAR, "follow", {"DEMO_colour": "2", "DEMO_follow": "3"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")


@pytest.mark.parametrize("bins, comment, extra", [
    (["2"], "", True),
    (["2"], "有话说", False),  # answered(DEMO_comment): the page is skipped
    (["1"], "", False),
])
def test_a_whole_page_appears_and_disappears(app, compound, bins, comment, extra):
    client = app.test_client()
    target = _walk(client, local={**LOCAL, "DEMO_bins": bins, "DEMO_comment": comment})
    assert target.endswith("/page/extra" if extra else "/page/follow")
    if extra:
        assert _questions(client.get(target).text) == ["DEMO_extra"]


def test_a_hidden_answer_is_dropped_when_the_condition_changes(app, compound):
    """Answer DEMO_follow, go back and change sex: the answer is not kept."""
    from survey.db import db
    from survey.models import Answer

    client = app.test_client()
    _walk(client)
    assert answer(client, YEAR, "follow", {"DEMO_follow": "3"}, nav="back").status_code == 303
    assert answer(client, YEAR, "about_you", {**CHOICE_PAGES["about_you"], "sex": "1"}
                  ).status_code == 303
    for key in ("N05", "N06"):
        assert answer(client, YEAR, key, CHOICE_PAGES[key]).status_code == 303
    assert answer(client, YEAR, "local", LOCAL).status_code == 303
    response = answer(client, YEAR, "follow", {"DEMO_colour": "1"})
    assert response.headers["Location"].endswith("/thanks")
    with app.app_context():
        items = set(db.session.execute(select(Answer.item)).scalars())
    assert "DEMO_follow" not in items and "DEMO_colour" in items


def _seed(app) -> int:
    from survey.db import db
    from survey.models import Response

    with app.app_context():
        seeds = db.session.execute(select(Response.presentation_seed)
                                   .order_by(Response.id.desc())).scalars().all()
    return seeds[0]


def _colour_options(html: str) -> list[int]:
    fieldset = html.split('id="q-DEMO_colour"', 1)[1].split("</fieldset>", 1)[0]
    return [int(v) for v in re.findall(r'id="DEMO_colour-\d+" value="(\d+)"', fieldset)]


def test_each_response_sees_its_own_order_on_every_view(app, randomised, runner, tmp_path):
    page, colour = randomised.page("follow"), randomised.items["DEMO_colour"]
    seen = []
    for _ in range(6):
        client = app.test_client()
        target = _walk(client)
        seed = _seed(app)
        assert isinstance(seed, int) and 0 <= seed < 2**31
        html = client.get(target).text
        order = [i.code for i in item_order(page, seed)]
        assert _questions(html) == order
        assert _colour_options(html) == [o.code for o in option_order(colour, seed)]
        again = client.get(target).text  # the same order on every view (and in the cache)
        assert _questions(again) == order and _colour_options(again) == _colour_options(html)
        # an error shows the same order too
        response = answer(client, YEAR, "follow", {"DEMO_colour": "1"})
        assert response.status_code == 200 and _questions(response.text) == order
        assert _colour_options(response.text) == _colour_options(html)
        response = answer(client, YEAR, "follow",
                          {"DEMO_colour": "1", "DEMO_follow": "2", "N01_A1": "5"})
        assert response.headers["Location"].endswith("/thanks")
        seen.append((seed, " ".join(order), " ".join(map(str, _colour_options(html)))))
    assert len({s for s, _, _ in seen}) == 6  # random seeds
    assert len({o for _, o, _ in seen}) > 1

    out = tmp_path / "responses.csv"
    result = runner.invoke(args=["export", "--wave", str(YEAR), "--out", str(out)])
    assert result.exit_code == 0, result.output
    columns, rows = read_csv(out)
    _, book = read_csv(tmp_path / "responses.codebook.csv")
    assert_described(columns, rows, book)
    assert columns.index("order__DEMO_colour") == columns.index("order__follow") + 1
    assert columns.index("order__DEMO_colour") + 1 == columns.index("started_at")
    assert [(r["order__follow"], r["order__DEMO_colour"]) for r in rows] == \
        [(o, c) for _, o, c in seen]
    described = {r["item"]: r for r in book}
    assert described["order__follow"]["kind"] == "paradata"
    assert described["order__follow"]["type"] == "text"


def test_visibility_is_cached_per_presence_of_a_text_answer():
    """``answered(DEMO_comment)`` depends on whether there is a comment, not on what it says:
    one cache entry for any text typed."""
    from survey.wave_cache import WaveEntry

    entry = WaveEntry(parse(_wave_data()))
    base = {"sex": 2, "N05_P1": 4, "DEMO_bins": 4}  # bin 2 chosen (bit 2)
    for text in ("a", "b", "c" * 400):
        visible, _ = entry.visibility({**base, "DEMO_comment": text})
        assert visible["extra"] == ()
    assert len(entry._visibility) == 1
    visible, _ = entry.visibility(base)
    assert [i.code for i in visible["extra"]] == ["DEMO_extra"]
    assert len(entry._visibility) == 2
