"""The resume limiter bounds guessing without becoming a lock-out tool (survey/limits.py):
only attempts past the CSRF check with a wrong code count, per browser and per client address
(resolved through the trusted proxies); attempts against one existing code have their own
limit; the counts can live in Redis, shared by workers."""

from __future__ import annotations

import re
import secrets
import tomllib
from pathlib import Path

import pytest

from .conftest import csrf_from, reachable_redis, start

REDIS_URL = "redis://127.0.0.1:6379/0"
CODE = re.compile(r'class="code" lang="en">([A-Z0-9]{4})-([A-Z0-9]{4})<')
WRONG = "AAAA-AAAA"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def browser(app, address="192.0.2.10", **environ):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=address, **environ)
    return client


def code_of(app) -> str:
    """Start a response in a browser of its own; returns its resume code."""
    return "".join(CODE.search(start(browser(app, "198.51.100.200")).text).groups())


def resume(client, code, **data):
    return client.post("/2031/resume", data={"code": code, **data})


# --------------------------------------------------------------------------- what counts


def test_posts_without_a_valid_csrf_token_use_up_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, RESUME_RATE_LIMIT="3 per minute",
                   RESUME_ADDRESS_RATE_LIMIT="3 per minute")
    attacker = browser(app)
    for _ in range(20):  # bare POSTs, or our form posted from another site
        assert resume(attacker, WRONG).status_code == 400
        assert resume(attacker, WRONG, csrf_token="forged").status_code == 400
    person = browser(app)
    token = csrf_from(person.get("/2031/resume").text)
    wrong = resume(person, WRONG, csrf_token=token)
    assert wrong.status_code == 200 and "没有找到" in wrong.text


def test_one_browsers_wrong_codes_do_not_lock_out_the_right_code_elsewhere(make_app):
    """Many people behind one address (a carrier's NAT, a school): a guesser's lock-out is
    his own; the right code still works from another browser at the same address."""
    app = make_app(RESUME_RATE_LIMIT="10 per minute")
    code = code_of(app)
    guesser = browser(app)
    guesser.get("/2031/resume")  # a session of its own
    statuses = [resume(guesser, WRONG).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    assert resume(guesser, code).status_code == 429  # over a limit nothing is checked
    neighbour = browser(app)  # same address, another browser
    neighbour.get("/2031/resume")
    moved = resume(neighbour, code)
    assert moved.status_code == 200 and CODE.search(moved.text)


def test_a_guesser_who_throws_away_cookies_is_bounded_per_address(make_app):
    app = make_app(RESUME_ADDRESS_RATE_LIMIT="5 per hour")
    code = code_of(app)
    for _ in range(5):
        assert resume(browser(app), WRONG).status_code == 200  # a fresh browser each time
    refused = resume(browser(app), code)
    assert refused.status_code == 429 and 3000 < int(refused.headers["Retry-After"]) <= 3600
    assert "尝试次数过多" in refused.text
    assert resume(browser(app, "203.0.113.50"), code).status_code == 200  # other addresses


def test_right_codes_cost_the_address_nothing(make_app):
    app = make_app(RESUME_RATE_LIMIT="2 per hour", RESUME_ADDRESS_RATE_LIMIT="2 per hour")
    person = browser(app)
    for _ in range(4):  # one browser at one address continues four questionnaires
        assert resume(person, code_of(app)).status_code == 200
    assert resume(browser(app), WRONG).status_code == 200


def test_attempts_against_one_existing_code_are_limited(make_app):
    """A leaked code cannot pull the response back and forth without end; each move gives a
    new code, and the successive codes of one response count together."""
    app = make_app(RESUME_CODE_RATE_LIMIT="2 per hour")
    code = code_of(app)
    for address in ("203.0.113.1", "203.0.113.2"):
        moved = resume(browser(app, address), code)
        assert moved.status_code == 200
        code = "".join(CODE.search(moved.text).groups())
    refused = resume(browser(app, "203.0.113.3"), code)
    assert refused.status_code == 429
    assert resume(browser(app, "203.0.113.3"), code_of(app)).status_code == 200  # others


def test_the_address_is_the_one_resolved_through_the_trusted_proxies(make_app):
    behind = make_app(TRUSTED_PROXIES=1, RESUME_ADDRESS_RATE_LIMIT="2 per hour")
    for _ in range(2):
        resume(browser(behind, "10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"), WRONG)
    assert resume(browser(behind, "10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"),
                  WRONG).status_code == 429
    assert resume(browser(behind, "10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"),
                  WRONG).status_code == 200
    # without trusted proxies a forged X-Forwarded-For buys no fresh budget
    direct = make_app(RESUME_ADDRESS_RATE_LIMIT="2 per hour")
    statuses = [resume(browser(direct, "192.0.2.77", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"),
                       WRONG).status_code for i in range(3)]
    assert statuses == [200, 200, 429]


def test_the_defaults():
    from survey import limits

    assert limits.LIMITS["resume"][1] == "10 per minute; 50 per hour"
    assert limits.LIMITS["resume_address"][1] == "100 per hour"
    assert limits.LIMITS["resume_code"][1] == "5 per hour"


# --------------------------------------------------------------------------- shared storage


def test_redis_is_a_runtime_dependency():
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert any(re.match(r"redis\b", requirement) for requirement in project["dependencies"])


def test_a_storage_uri_that_cannot_work_stops_the_start_with_one_line(make_app):
    with pytest.raises(RuntimeError, match=r"RATELIMIT_STORAGE_URI=nowhere://x: "):
        make_app(RATELIMIT_STORAGE_URI="nowhere://x", install=False)


@pytest.fixture
def redis_url():
    return reachable_redis(REDIS_URL)


def test_redis_storage_from_the_environment_works_at_start_up(make_app, redis_url, monkeypatch,
                                                             tmp_path):
    from survey import create_app

    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI":
                      f"sqlite:///{tmp_path / 'env.sqlite'}"})
    limiter, _limits = app.extensions["survey_rate_limits"]
    assert type(limiter.storage).__name__ == "RedisStorage" and limiter.storage.check()


def test_two_workers_share_the_resume_counts_through_redis(make_app, redis_url, tmp_path):
    secret = secrets.token_hex(16)  # counts of this test's own
    database = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    one = make_app(database=database, SECRET_KEY=secret, RATELIMIT_STORAGE_URI=redis_url,
                   RESUME_ADDRESS_RATE_LIMIT="3 per hour")
    two = make_app(database=database, SECRET_KEY=secret, RATELIMIT_STORAGE_URI=redis_url,
                   RESUME_ADDRESS_RATE_LIMIT="3 per hour", install=False)
    address = f"203.0.113.{secrets.randbelow(250) + 1}"
    assert resume(browser(one, address), WRONG).status_code == 200
    assert resume(browser(two, address), WRONG).status_code == 200
    assert resume(browser(one, address), WRONG).status_code == 200
    assert resume(browser(two, address), WRONG).status_code == 429
    assert resume(browser(one, address), WRONG).status_code == 429
