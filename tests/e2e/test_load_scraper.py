"""The load benchmark's regex scraper (benchmarks/web_load.py) reads the real pages correctly.

The benchmark parses pages with regular expressions to stay cheap; if a template change broke
that, the benchmark would measure error pages. This walks one respondent through the real app
with Flask's test client using exactly the benchmark's functions.
"""

from __future__ import annotations

import importlib.util
import random
import secrets
import sys

import pytest

from questionnaires import load_wave

from .conftest import PROJECT, current_wave_file, invoke


@pytest.fixture(scope="module")
def web_load():
    spec = importlib.util.spec_from_file_location(
        "web_load", PROJECT / "benchmarks" / "web_load.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("web_load", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from survey import create_app

    workdir = tmp_path_factory.mktemp("scraper")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'survey.sqlite'}",
            "SECRET_KEY": secrets.token_hex(16),
            "WTF_CSRF_ENABLED": True,
        }
    )
    wave_file = current_wave_file()
    invoke(app, "init-db")
    invoke(app, "load-questionnaire", str(wave_file))
    invoke(app, "open-wave", wave_file.stem)
    app.wave_definition = load_wave(wave_file)
    return app


def test_scraper_walks_the_real_pages(app, web_load):
    from urllib.parse import urljoin

    wave = app.wave_definition
    client = app.test_client()
    rng = random.Random(3)
    url = "/"
    response = client.get(url)
    while response.status_code in (302, 303):
        url = urljoin(url, response.headers["Location"])
        response = client.get(url)
    landing = response.get_data(as_text=True)
    assert web_load.parse_post_form(landing) is None, "the landing page has no survey form"
    link = web_load.find_start_link(landing)
    assert link and link.endswith("/consent"), link
    url = urljoin(url, link)
    page = client.get(url).get_data(as_text=True)

    fields_seen = set()
    for _ in range(len(wave.pages) + 2):
        form = web_load.parse_post_form(page)
        if form is None:
            break
        assert form.hidden.get("csrf_token"), f"{url}: no CSRF token found"
        assert form.submit is None or form.submit[1] != "back", f"{url}: would go back"
        for name, values in form.choices.items():
            item = wave.items[name]  # every scraped field is an item code ...
            assert {int(v) for v in values} == set(item.answer_codes), name  # ... all options
        fields_seen |= set(form.choices)
        target = urljoin(url, form.action) if form.action else url
        response = client.post(target, data=web_load.fill(form, rng))
        assert response.status_code == 303, f"{target}: {response.status_code}"
        url = urljoin(target, response.headers["Location"])
        page = client.get(url).get_data(as_text=True)
    else:
        pytest.fail("the scraper did not reach the thank-you page")

    unconditional = {code for code, item in wave.items.items() if item.condition is None}
    assert unconditional <= fields_seen, f"not scraped: {sorted(unconditional - fields_seen)}"
    assert "/thanks" in url
