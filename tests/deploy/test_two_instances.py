"""Two app servers behind nginx, sharing PostgreSQL and Redis (docs/deploy.md).

Two gunicorn instances (as on two machines) run the same app with one SECRET_KEY, one PostgreSQL
database (migrated once, by ``init-db``) and one Redis for the rate limits, with
``TRUSTED_PROXIES=1``; nginx spreads the requests over both. Respondents from different client
addresses complete the questionnaire through nginx, each request landing on either server; the
database then holds exactly their responses. The limit on new responses per client is counted
once across both servers, for the client's own address (never nginx's, never one the client
wrote into ``X-Forwarded-For``).
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from .conftest import Browser, Gunicorn, Nginx, app_environment, load_web_load, prepare_database

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RESPONDENTS = 6
NEW_RESPONSES_PER_CLIENT = 2


@pytest.fixture(scope="module")
def database():
    """A database of its own on the PostgreSQL server, dropped at the end."""
    psycopg = pytest.importorskip("psycopg")
    name = f"deploy_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL server reachable at {PG_ADMIN_URL} ({exc})")
    parts = urlsplit(PG_ADMIN_URL)
    yield f"postgresql://{parts.netloc}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url():
    redis = pytest.importorskip("redis", reason="the Redis client package `redis` is not "
                                                "installed (pip install redis)")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server reachable at {REDIS_URL} ({exc})")
    return REDIS_URL


@pytest.fixture(scope="module")
def deployment(database, redis_url, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("two_instances")
    year = prepare_database(database)  # migrations once, before any app server starts
    env = app_environment(database, TRUSTED_PROXIES="1",
                          RATELIMIT_STORAGE_URI=redis_url,
                          NEW_RESPONSE_RATE_LIMIT=f"{NEW_RESPONSES_PER_CLIENT} per hour")
    servers = []
    try:
        for name in ("app1", "app2"):
            servers.append(Gunicorn(env, workdir, workers=1, name=name))
        proxy = Nginx([s.address for s in servers], workdir)
    except BaseException:
        for s in servers:
            s.stop()
        raise
    yield {"servers": servers, "proxy": proxy, "year": year, "database": database}
    proxy.stop()
    for s in servers:
        s.stop()


def count_responses(database: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT status, count(*) FROM responses GROUP BY status").fetchall()
    return dict(rows)


def test_responses_through_either_server_all_reach_the_one_database(deployment):
    web_load = load_web_load()
    port = deployment["proxy"].port
    before = [s.requests_served() for s in deployment["servers"]]

    def respondent(i: int) -> None:
        Browser(port, source=f"127.0.1.{i + 1}").complete_response(web_load, seed=i)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(respondent, range(RESPONDENTS)))

    served = [s.requests_served() - b for s, b in zip(deployment["servers"], before, strict=True)]
    assert all(n > 10 for n in served), f"requests per app server: {served}"
    assert count_responses(deployment["database"]) == {"complete": RESPONDENTS}


def start_attempts(browser: Browser, year: int, attempts: int, **headers: str) -> list[int]:
    """Consent POSTs by one browser, each starting a new response (its response cookie is
    dropped, its session, which holds the CSRF token, kept)."""
    import re

    _, page = browser.get(f"/{year}/consent")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    statuses = []
    for _ in range(attempts):
        browser.cookies.pop("survey_response", None)
        status, _, _ = browser.send("POST", f"/{year}/consent", {"csrf_token": token},
                                    headers=headers)
        statuses.append(status)
    return statuses


def test_the_limit_on_new_responses_is_shared_and_sees_the_real_client(deployment):
    year, port = deployment["year"], deployment["proxy"].port
    before = [s.requests_served() for s in deployment["servers"]]
    first = Browser(port, source="127.0.2.1")
    statuses = start_attempts(first, year, 4)
    served = [s.requests_served() - b for s, b in zip(deployment["servers"], before, strict=True)]
    # the four POSTs went to both servers, yet the client's limit was counted once
    assert all(n >= 2 for n in served), served
    assert sorted(statuses) == [303] * NEW_RESPONSES_PER_CLIENT + [429] * 2, statuses
    # writing another address into X-Forwarded-For does not escape it: nginx sends its own
    assert start_attempts(first, year, 1, **{"X-Forwarded-For": "198.51.100.7"}) == [429]
    # another client (another address behind the same nginx) is not affected
    assert start_attempts(Browser(port, source="127.0.2.2"), year, 1) == [303]
