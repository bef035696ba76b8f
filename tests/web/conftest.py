"""Fixtures for the web app tests (flaskr style: ``app``, ``client``, ``runner``).

Every test that uses ``app`` runs twice: on SQLite (a fresh file per test) and on the PostgreSQL
server at 127.0.0.1:5432, database ``test`` (a schema of our own, created once per session and
truncated between tests).  The PostgreSQL run is skipped, with the reason, when no server
answers.  ``TEST_DATABASE_URL`` points the PostgreSQL runs elsewhere.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid

import pytest

from questionnaires import Condition, Item, Option, Page, Wave

PG_URL = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://127.0.0.1:5432/test")


# --------------------------------------------------------------------------- a small wave


def _t(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


FIVE = tuple(Option(code=c, label=_t(f"选项{c}", f"Option {c}")) for c in range(1, 6))
NA = Option(code=9, label=_t("不适用", "Not applicable"))


def make_wave(year: int = 2031, *, opens=dt.date(2000, 1, 1), closes=dt.date(2099, 12, 31)) -> Wave:
    """Four pages: demographics, a grid, a page shown only for N01_P1 in {4, 5}, a last page."""
    sex = Item(code="sex", norm=None, kind="demographic", wording_version=1,
               text=_t("您的性别", "Your sex"),
               options=(Option(1, _t("男", "Male"), "male"),
                        Option(2, _t("女", "Female"), "female")))
    province = Item(code="province", norm=None, kind="demographic", wording_version=1,
                    text=_t("您常住的省份", "Province where you live"), widget="select",
                    options=(Option(1, _t("北京市", "Beijing"), "110000"),
                             Option(2, _t("四川省", "Sichuan"), "510000"),
                             Option(3, _t("黑龙江省", "Heilongjiang"), "230000")))
    education = Item(code="education", norm=None, kind="demographic", wording_version=1,
                     text=_t("您的学历", "Your education"), required=False,
                     options=(Option(1, _t("小学", "Primary"), "primary"),
                              Option(2, _t("大学", "University"), "university")))
    n01_a1 = Item(code="N01_A1", norm="N01", kind="awareness", wording_version=1,
                  text=_t("关爱生态环境有多重要？", "How important is caring for the environment?"),
                  options=FIVE)
    n01_p1 = Item(code="N01_P1", norm="N01", kind="practice", wording_version=2,
                  text=_t("您多久参加一次环保活动？", "How often do you join green activities?"),
                  options=FIVE, not_applicable=NA)
    n04_p4 = Item(code="N04_P4", norm="N04", kind="practice", wording_version=1,
                  text=_t("您多久步行短途出行？", "How often do you walk short trips?"),
                  options=FIVE, condition=Condition("N01_P1", frozenset({4, 5})))
    attn = Item(code="ATTN1", norm=None, kind="attention", wording_version=1,
                text=_t("请选择“选项4”", "Please choose 'Option 4'"), options=FIVE, expected=4)
    n02_p1 = Item(code="N02_P1", norm="N02", kind="practice", wording_version=1,
                  text=_t("您多久节约用水？", "How often do you save water?"),
                  options=FIVE, not_applicable=NA)
    pages = (
        Page("about", _t("关于您", "About you"), (sex, province, education)),
        Page("n01", _t("关爱生态环境", "Care for the environment"), (n01_a1, n01_p1), grid=True),
        Page("walk", _t("短途出行", "Short trips"), (n04_p4,)),
        Page("last", _t("最后", "Last questions"), (attn, n02_p1)),
    )
    return Wave(year=year, title=_t(f"{year}年测试调查", f"Test survey {year}"),
                norms_version="2023", opens=opens, closes=closes,
                consent=_t("同意说明第一段。\n\n第二段。",
                           "Consent paragraph one.\n\nParagraph two."),
                pages=pages, source="tests/web")


# --------------------------------------------------------------------------- databases


def _postgres_reason() -> str | None:
    try:
        import psycopg

        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: no usable server here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server reachable at {PG_URL} ({first})"


@pytest.fixture(scope="session")
def pg_schema():
    """A private schema in the shared `test` database, with our tables; dropped at the end."""
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import sqlalchemy as sa

    from survey import models  # noqa: F401
    from survey.db import db

    schema = f"web_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = _with_search_path(PG_URL, schema)
    schema_engine = sa.create_engine(url)
    db.metadata.create_all(schema_engine)
    schema_engine.dispose()
    yield url
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def _truncate_all(db) -> None:
    import sqlalchemy as sa

    from survey.models import Organisation

    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # as a new database has it (migration 0004, or create_all's after_create listener)
        Organisation.__table__.dispatch.after_create(Organisation.__table__, conn)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'survey.sqlite'}", "sqlite"
    return request.getfixturevalue("pg_schema"), "postgresql"


@pytest.fixture
def app(database_url, tmp_path):
    from survey import create_app
    from survey.db import db

    url, backend = database_url
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "WAVE_CACHE_SECONDS": 0,
        "STATUS_COUNTS_SECONDS": 0,
        "CLOSED_STATUS_COUNTS_SECONDS": 0,
        "MONITORING_SECONDS": 0,
        "CLOSED_MONITORING_SECONDS": 0,
        "EXPORT_DIR": str(tmp_path / "exports"),
    })
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        else:
            _truncate_all(db)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --------------------------------------------------------------------------- helpers


def install_wave(app, wave: Wave, status: str = "open", opens=None, closes=None) -> None:
    """Freeze ``wave`` into the database as load-questionnaire would, with ``status``."""
    import json

    from survey.db import db
    from survey.models import Questionnaire
    from survey.models import Wave as WaveRow

    with app.app_context():
        row = WaveRow(year=wave.year, status=status,
                      opens=opens or wave.opens, closes=closes or wave.closes)
        db.session.add(row)
        db.session.flush()
        db.session.add(Questionnaire(wave_id=row.id, content_hash=wave.content_hash,
                                     definition=json.dumps(wave.to_dict(), ensure_ascii=False)))
        db.session.commit()


@pytest.fixture
def wave():
    return make_wave()


@pytest.fixture
def open_wave(app, wave):
    install_wave(app, wave)
    return wave


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def start(client, year: int = 2031):
    """Consent and land on the first page; returns the first page's response."""
    response = client.post(f"/{year}/consent")
    assert response.status_code == 303, response.text
    return client.get(response.headers["Location"])


def answer(client, year: int, key: str, data: dict, nav: str = "next"):
    return client.post(f"/{year}/page/{key}", data={**data, "nav": nav})


FULL = {
    "about": {"sex": "2", "province": "2", "education": "1"},
    "n01": {"N01_A1": "5", "N01_P1": "4"},
    "walk": {"N04_P4": "3"},
    "last": {"ATTN1": "4", "N02_P1": "9"},
}


def complete(client, year: int = 2031, answers=FULL):
    start(client, year)
    last = None
    for key, data in answers.items():
        last = answer(client, year, key, data)
        assert last.status_code == 303, last.text
    return last


# --------------------------------------------------------------------------- staff accounts

PASSWORD = "correct horse battery staple"


def add_org(app, code: str, parent: str | None = None):
    """Organisation ``code`` under ``parent`` (``national`` is there from the start)."""
    from sqlalchemy import select

    from survey.db import db
    from survey.models import Organisation

    with app.app_context():
        parent_row = db.session.execute(
            select(Organisation).where(Organisation.code == parent)).scalar_one() \
            if parent else None
        db.session.add(Organisation(code=code, name_zh=f"{code}机构", name_en=f"{code} org",
                                    parent=parent_row))
        db.session.commit()


def add_user(app, email: str = "staff@example.org", *roles: tuple[str, str],
             password: str = PASSWORD, totp_secret: str | None = None, active: bool = True):
    """An account with ``(organisation code, role)`` memberships (default: viewer of the
    default organisation)."""
    from sqlalchemy import select

    from survey.accounts import hash_password
    from survey.db import db
    from survey.models import Membership, Organisation, User

    with app.app_context():
        user = User(email=email, password_hash=hash_password(password),
                    totp_secret=totp_secret, active=active)
        for code, role in roles or (("national", "viewer"),):
            org = db.session.execute(
                select(Organisation).where(Organisation.code == code)).scalar_one()
            user.memberships.append(Membership(organisation=org, role=role))
        db.session.add(user)
        db.session.commit()


def sign_in(client, email: str = "staff@example.org", password: str = PASSWORD, **headers):
    return client.post("/login", data={"email": email, "password": password}, **headers)


# settings a developer's environment may carry, cleared so that each test sets its own
ENVIRONMENT_SETTINGS = ("TRUSTED_HOSTS", "TRUSTED_PROXIES", "SESSION_COOKIE_SECURE",
                        "RATELIMIT_STORAGE_URI", "RESUME_RATE_LIMIT", "RESUME_ADDRESS_RATE_LIMIT",
                        "RESUME_CODE_RATE_LIMIT", "NEW_RESPONSE_RATE_LIMIT", "LOGIN_RATE_LIMIT",
                        "LOGIN_ADDRESS_RATE_LIMIT", "API_RATE_LIMIT")


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """``make_app(database=None, install=True, **config)``: an app of its own (on a fresh SQLite
    file unless ``database`` is given), with the test wave open unless ``install`` is false;
    several apps of one test are several servers."""
    from survey import create_app
    from survey.db import db

    for variable in ENVIRONMENT_SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    made = []

    def make(*, database=None, install=True, **config):
        app = create_app({
            "TESTING": True, "SECRET_KEY": config.pop("SECRET_KEY", "test secret"),
            "WTF_CSRF_ENABLED": config.pop("WTF_CSRF_ENABLED", False),
            "SQLALCHEMY_DATABASE_URI":
                database or f"sqlite:///{tmp_path / f'db{len(made)}.sqlite'}",
            "WAVE_CACHE_SECONDS": 0, "STATUS_COUNTS_SECONDS": 0,
            "CLOSED_STATUS_COUNTS_SECONDS": 0, "MONITORING_SECONDS": 0,
            "CLOSED_MONITORING_SECONDS": 0, "EXPORT_DIR": str(tmp_path / "exports"),
            **config,
        })
        if install:
            with app.app_context():
                db.create_all()
            install_wave(app, make_wave())
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def reachable_redis(url: str) -> str:
    """``url`` when a Redis server answers there, else skip naming what is missing (in CI a
    missing service fails the run: tests/conftest.py)."""
    try:
        import redis
    except ImportError:
        pytest.skip("the Redis client package `redis` is not installed (pip install redis)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server reachable at {url} ({exc})")
    return url
