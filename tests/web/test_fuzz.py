"""Random requests against the respondent routes: none may answer 5xx or raise.

A seeded generator (reproducible: the failure message names the seed and the request number)
builds requests from the real routes with mutated segments: random methods, years and page
keys, query strings, form fields and values (answer codes, Unicode digits, huge numbers,
control characters, empty and repeated fields), bodies (urlencoded, multipart with and without
files, JSON, raw bytes, oversized), headers and cookies.  Some clients hold real in-progress
responses and real CSRF tokens so that requests reach the saving code, not only the guards.

Runs with the Flask test client (no server); exceptions propagate (``TESTING``), so a crash is
reported with its request instead of being hidden behind a 500 page.
"""

from __future__ import annotations

import io
import json
import random
import time
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

import pytest

from .conftest import PG_URL, csrf_from, install_wave, make_wave

SEED = 20261202
REQUESTS_SQLITE = 5_000
REQUESTS_POSTGRES = 800
YEAR = 2031

def _with_typed_page(wave):
    """The test wave with a page of local items of every typed question type before its last
    page, so that random values reach their parsing and checks."""
    import dataclasses

    from questionnaires import Page
    from tests.typed_wave import typed_wave

    local = tuple(i for i in typed_wave(YEAR).items.values() if i.kind == "local")
    typed = Page("typed", {"zh": "本地问题", "en": "Local questions"}, local)
    return dataclasses.replace(wave, pages=(*wave.pages[:-1], typed, wave.pages[-1]))


WAVE = _with_typed_page(make_wave(YEAR))
PAGE_KEYS = [page.key for page in WAVE.pages]
ITEM_CODES = [item.code for page in WAVE.pages for item in page.items]

METHODS = ["GET"] * 16 + ["POST"] * 16 + ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                                           "PROPFIND", "get"]

TRICKY_TEXT = [
    "", " ", "0", "1", "4", "9", "10", "-1", "+1", "1.5", "1e3", "0x1", "2_0", " 3 ", "٣", "²",
    "①", "５", "𝟙", "Ⅻ", "〇", "一", "三", "1\u00a0", "\u200b1", "1\u0000", "\x00", "\r\n", "\t",
    "null", "None", "true", "[]", "{}", "<script>alert(1)</script>", "' OR 1=1 --", "%00",
    "%0d%0a", "../../etc/passwd", "..%2f..%2f", "\\", "//evil.example", "https://evil.example/",
    "javascript:alert(1)", "😀", "\ud7ff", "\ufffd", "ﬀ", "ß", "İ", "AAAA-AAAA", "34679ACD",
    "abcdefgh", "a" * 300, "9" * 4_301, "1" * 50, "é" * 100,
]


def _huge(rng: random.Random) -> str:
    return rng.choice(["9", "1", "x", "é", "\x00"]) * rng.choice([1_000, 5_000, 30_000, 70_000])


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(TRICKY_TEXT)
    if roll < 0.75:
        return str(rng.choice([rng.randint(-5, 12), rng.randint(-(2**70), 2**70)]))
    if roll < 0.95:
        alphabet = "abcXYZ019-_./%?&=#;:+ \\\"'<>" + "关于您中文٣²①😀\u202e\x7f\x01"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    return _huge(rng)


def random_segment(rng: random.Random, real: list[str]) -> str:
    """A path segment: usually a real one, sometimes mutated or replaced."""
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(real)
    if roll < 0.9:
        value = rng.choice(real)
        cut = rng.randint(0, len(value))
        insert = rng.choice(["", "x", "%00", "%2F", "..", "٣", "😀", "%ZZ"])
        return value[:cut] + insert + value[cut:]
    return rng.choice(["", ".", "..", "%2e%2e", "0", "-1", "00000000000000000000002031",
                       "99999999999999999999", "2147483648", "٢٠٣١", "²⁰³¹", "2031.0",
                       "%20", "a" * 300, "static", "survey.css", "%0d%0a"])


def random_path(rng: random.Random) -> str:
    year = random_segment(rng, [str(YEAR)] * 8 + ["2030", "2032", "1999"])
    key = random_segment(rng, PAGE_KEYS)
    weighted = {  # the real routes most of the time, then near misses
        "/": 1, f"/{year}/": 2, f"/{year}/consent": 4, f"/{year}/page/{key}": 10,
        f"/{year}/resume": 3, f"/{year}/thanks": 2,
        f"/language/{random_segment(rng, ['en', 'zh'])}": 2, "/research/status": 1,
        f"/static/{random_segment(rng, ['survey.css', 'survey.js'])}": 1,
        f"/{year}": 1, f"/{year}/page/": 1, f"/{year}/{key}": 1, f"//{year}/consent": 1,
        f"/{year}/consent/": 1,
    }
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def random_query(rng: random.Random) -> dict:
    query: dict[str, str] = {}
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
        name = rng.choice(["lang", "lang", "next", "next", "check", "x", random_text(rng)[:30]])
        value = rng.choice(["en", "zh", "fr", "", "/2031/", random_text(rng)])
        query[name[:100] or "q"] = value[:2_000]
    return query


@dataclass
class Pool:
    """Clients with a real in-progress response (and the CSRF token of their session)."""

    clients: list = field(default_factory=list)
    tokens: list = field(default_factory=list)


def random_form(rng: random.Random, csrf_token: str | None) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    if csrf_token is not None and rng.random() < 0.8:
        fields.append(("csrf_token", csrf_token))
    elif rng.random() < 0.5:
        fields.append(("csrf_token", random_text(rng)))
    for code in rng.sample(ITEM_CODES, rng.randint(0, len(ITEM_CODES))):
        value = str(rng.choice([1, 2, 3, 4, 5, 9])) if rng.random() < 0.6 else random_text(rng)
        fields.append((code, value))
        if rng.random() < 0.1:  # the same field twice
            fields.append((code, random_text(rng)))
    if rng.random() < 0.7:
        fields.append(("nav", rng.choice(["next", "next", "back", "", random_text(rng)])))
    if rng.random() < 0.3:
        fields.append(("code", rng.choice(["AAAA-AAAA", random_text(rng)])))
    if rng.random() < 0.2:
        fields.append(("website", random_text(rng)))
    for _ in range(rng.choice([0, 0, 1, 3])):
        fields.append((random_text(rng)[:50] or "f", random_text(rng)))
    return fields


def random_body(rng: random.Random, fields: list[tuple[str, str]]) -> dict:
    """Keyword arguments for the test client: how the fields are sent."""
    kind = rng.choices(["urlencoded", "multipart", "files", "json", "raw", "none"],
                       weights=[60, 10, 8, 5, 12, 5])[0]
    if kind == "urlencoded":
        from urllib.parse import urlencode

        return {"data": urlencode(fields).encode(),
                "content_type": "application/x-www-form-urlencoded"}
    if kind in ("multipart", "files"):
        from werkzeug.datastructures import MultiDict

        data = MultiDict(fields)
        if kind == "files":
            payload = rng.randbytes(rng.choice([0, 10, 2_000]))
            data.add(rng.choice(["photo", "sex", "csrf_token"]),
                     (io.BytesIO(payload), rng.choice(["a.png", "", "..\\x.exe", "关于.txt"])))
        return {"data": data, "content_type": "multipart/form-data"}
    if kind == "json":
        return {"data": json.dumps(dict(fields)), "content_type": "application/json"}
    if kind == "raw":
        size = rng.choice([0, 1, 50, 5_000, 70_000])
        payload = rng.randbytes(size)
        content_type = rng.choice([
            "application/x-www-form-urlencoded", "multipart/form-data",
            "multipart/form-data; boundary=xyz", "multipart/form-data; boundary=",
            "text/plain", "application/octet-stream", "", "x/y; charset=klingon",
            "application/x-www-form-urlencoded; charset=utf-16",
        ])
        return {"data": payload, "content_type": content_type}
    return {}


def random_headers(rng: random.Random) -> dict:
    headers = {}
    if rng.random() < 0.3:
        headers["Accept-Language"] = rng.choice(["en", "zh-CN,zh;q=0.9", "*", "x" * 500, "中文"])
    if rng.random() < 0.15:
        headers["X-Forwarded-For"] = rng.choice(["1.2.3.4", "1.2.3.4, 5.6.7.8", "nonsense", ""])
    if rng.random() < 0.1:
        headers["X-Forwarded-Proto"] = rng.choice(["https", "http", "gopher"])
    if rng.random() < 0.1:
        headers["Host"] = rng.choice(["localhost", "evil.example", "localhost:99999", "[::1]",
                                      "a" * 300, "exa mple", ""])
    if rng.random() < 0.1:
        headers["Referer"] = random_text(rng)[:500]
    if rng.random() < 0.05:
        headers["Content-Length"] = rng.choice(["0", "-1", "abc", "99999999999"])
    return {k: v.replace("\r", "").replace("\n", "") for k, v in headers.items()}


def random_cookies(rng: random.Random, real_token: str | None) -> dict:
    cookies = {}
    if rng.random() < 0.3:
        cookies["survey_response"] = rng.choice(
            [real_token or "", "x" * 43, "x" * 100, random_text(rng)[:100], ""])
    if rng.random() < 0.2:
        cookies["lang"] = rng.choice(["en", "zh", "fr", random_text(rng)[:50]])
    if rng.random() < 0.15:
        cookies["session"] = rng.choice(["", "garbage", "eyJ4Ijo.x.y", random_text(rng)[:200]])
    return cookies


def _set_cookies(client, cookies: dict) -> None:
    for name, value in cookies.items():
        try:
            client.set_cookie(name, value)
        except ValueError:  # the test client refuses some values a browser would not send
            pass


def run_fuzz(app, requests: int, seed: int) -> tuple[list[str], dict[int, int]]:
    """Send ``requests`` random requests; returns (failures, status counts)."""
    rng = random.Random(seed)
    pool = Pool()
    for _ in range(4):
        client = app.test_client()
        started = client.post(f"/{YEAR}/consent",
                              data={"csrf_token": csrf_from(client.get(f"/{YEAR}/consent").text)})
        assert started.status_code == 303, started.status_code
        pool.clients.append(client)
        pool.tokens.append(csrf_from(client.get(started.headers["Location"]).text))
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for number in range(requests):
        if rng.random() < 0.6:
            which = rng.randrange(len(pool.clients))
            client, csrf_token = pool.clients[which], pool.tokens[which]
            real_token = client.get_cookie("survey_response")
            real_token = real_token.value if real_token is not None else None
        else:
            client, csrf_token, real_token = app.test_client(), None, None
        method = rng.choice(METHODS)
        path = random_path(rng)
        kwargs = {"query_string": random_query(rng), "headers": random_headers(rng)}
        if method.upper() not in ("GET", "HEAD") or rng.random() < 0.05:
            kwargs.update(random_body(rng, random_form(rng, csrf_token)))
        cookies = random_cookies(rng, real_token)
        fresh = app.test_client() if cookies else client
        if cookies:  # a throwaway client, so the pool keeps its real cookies
            for name in ("session", "survey_response", "lang"):
                cookie = client.get_cookie(name)
                if cookie is not None:
                    fresh.set_cookie(name, cookie.value)
            _set_cookies(fresh, cookies)
        described = (f"request {number} (seed {seed}): {method} {path!r} "
                     f"{_short({**kwargs, 'cookies': cookies})}")
        try:
            response = fresh.open("/", method=method, environ_overrides=_raw_path(path),
                                  **kwargs)
        except Exception as exc:  # noqa: BLE001 - any exception is a finding
            failures.append(f"{described} raised {type(exc).__name__}: {str(exc)[:200]}")
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        body = response.get_data()
        if response.status_code >= 500 or b"Traceback" in body:
            failures.append(f"{described} answered {response.status_code}")
    return failures, statuses


def _raw_path(path: str) -> dict:
    """The path as a server hands it on (percent-decoded bytes as Latin-1, PEP 3333), set
    directly: the test client would read ``//host/x`` as a URL with a host in it."""
    return {"PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "RAW_URI": path}


def _short(kwargs: dict) -> str:
    text = repr({k: v for k, v in kwargs.items() if v})
    return text if len(text) < 300 else text[:300] + "…"


def _fuzz_app(url: str):
    from survey import create_app

    return create_app({
        "TESTING": True,  # exceptions propagate to the test: a crash names its request
        "SECRET_KEY": "fuzz secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "RESUME_RATE_LIMIT": "1000 per minute",
        "NEW_RESPONSE_RATE_LIMIT": "100000 per hour",
    })


def test_random_requests_never_get_a_server_error_sqlite(tmp_path):
    from survey.db import db

    app = _fuzz_app(f"sqlite:///{tmp_path / 'fuzz.sqlite'}")
    with app.app_context():
        db.create_all()
    install_wave(app, WAVE)
    started = time.perf_counter()
    failures, statuses = run_fuzz(app, REQUESTS_SQLITE, SEED)
    elapsed = time.perf_counter() - started
    print(f"{REQUESTS_SQLITE} requests in {elapsed:.1f} s; statuses {sorted(statuses.items())}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:15])
    # the requests reached every kind of answer, not only the guards
    assert {200, 303, 400, 404, 405}.issubset(statuses), statuses
    with app.app_context():
        db.engine.dispose()


@pytest.mark.postgres
def test_random_requests_never_get_a_server_error_postgres(pg_schema):
    """Fewer requests on PostgreSQL: it refuses what SQLite stores (NUL characters in text,
    integers beyond 32 bits), so this is where such values would surface."""
    from survey.db import db

    from .conftest import _truncate_all

    assert PG_URL  # the schema fixture skips with the reason when no server answers
    app = _fuzz_app(pg_schema)
    with app.app_context():
        _truncate_all(db)
    install_wave(app, WAVE)
    failures, statuses = run_fuzz(app, REQUESTS_POSTGRES, SEED + 1)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:15])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
