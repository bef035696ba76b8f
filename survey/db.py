"""The database handle, SQLite tuning, Alembic migrations and the ``init-db`` command."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app, g, has_request_context, request
from flask.cli import with_appcontext
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, engine_from_config, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from response_table.connect import normalise_database_url  # noqa: F401 - the app's too

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    # named constraints: identical names on SQLite and PostgreSQL, so migrations can drop them
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


db = SQLAlchemy(model_class=Base)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL so readers never wait for the writer, a busy timeout instead of 'database is locked',
    and ``BEGIN IMMEDIATE`` for POST requests: a request that reads and then writes takes the
    write lock up front instead of failing to upgrade a read snapshot under concurrency (the
    pattern SQLAlchemy's SQLite docs describe for taking over pysqlite's transaction handling)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        writing = has_request_context() and request.method == "POST"
        # straight to the driver: exec_driver_sql's bookkeeping costs more than the BEGIN
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if writing else "BEGIN")


# app.extensions key: the engine of the respondent's path (``connection()``)
RESPONDENT_ENGINE = "survey.respondent_engine"


def _autocommit_engine(app: Flask, engine: Engine) -> Engine:
    """PostgreSQL: an engine of its own for the respondent's path, whose connections are in
    AUTOCOMMIT from the moment they connect.  Switching a connection of the app's engine to
    AUTOCOMMIT for each request and back on its return to the pool cost more CPU than the rest
    of checking it out.  Its pool is built from the app's engine options, as Flask-SQLAlchemy
    builds ``db.engine``'s, and is disposed with ``db.engine``.  Its connections hold no
    transaction between statements, so the pool has nothing to roll back on their return."""
    options = {
        "echo": app.config.get("SQLALCHEMY_ECHO", False),
        "echo_pool": app.config.get("SQLALCHEMY_ECHO", False),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        "url": engine.url,
        "isolation_level": "AUTOCOMMIT",
        "pool_reset_on_return": None,
    }
    respondent = engine_from_config(options, prefix="")

    @event.listens_for(engine, "engine_disposed")
    def _dispose_too(_engine):
        respondent.dispose()

    return respondent


def connection():
    """This request's database connection (SQLAlchemy Core), opened on first use and closed at
    the end of the request.  The respondent's path uses it instead of the ORM session: its few
    prebuilt statements need none of the session's unit-of-work machinery.

    On PostgreSQL it runs in AUTOCOMMIT (an engine of its own, ``_autocommit_engine``): a page
    view only reads and a page save is a single atomic statement (survey/store.py), so no BEGIN
    and no COMMIT round trips, which with synchronous workers are most of a request's wait.  On
    SQLite it is an ordinary transaction of ``db.engine`` (``BEGIN IMMEDIATE`` for POST, see
    ``_tune_sqlite``); ``commit()`` below commits it."""
    app_globals = g._get_current_object()  # a context look-up costs more than the rest here
    conn = app_globals.get("_survey_connection")
    if conn is None:
        conn = app_globals._survey_connection = current_app.extensions[RESPONDENT_ENGINE].connect()
    return conn


def commit() -> None:
    """Commit this request's connection (a no-op in AUTOCOMMIT)."""
    conn = g.get("_survey_connection")
    if conn is not None:
        conn.commit()


def rollback() -> None:
    conn = g.get("_survey_connection")
    if conn is not None:
        conn.rollback()


def _close_connection(_exc=None) -> None:
    conn = g.pop("_survey_connection", None)
    if conn is not None:
        conn.close()  # rolls back whatever was not committed


def alembic_config(connection=None):
    """An Alembic configuration for our migrations, bound to ``connection`` if given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_database(revision: str = "head") -> None:
    """Bring the app's database to ``revision`` with the Alembic migrations."""
    from alembic import command

    with migration_connection() as connection:
        command.upgrade(alembic_config(connection), revision)


@contextmanager
def migration_connection():
    """A connection in a transaction for the migrations.

    On SQLite, Alembic's batch mode changes a table by copying it and dropping the original;
    with foreign keys enforced, that ``DROP TABLE`` deletes the rows of every table that
    references it by ``ON DELETE CASCADE`` (a response's answers) or fails.  So, as SQLite's
    own procedure for changing a table says, foreign keys are switched off for the migration
    (outside the transaction: inside one the pragma does nothing) and checked before the
    commit: a migration that broke a reference fails and changes nothing."""
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        driver = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"the migration left a broken reference: table "
                                       f"{broken[0]}, row {broken[1]} -> {broken[2]}")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database tables (Alembic migrations; keeps existing data)."""
    upgrade_database()
    url = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Database ready: {url}")


def init_app(app: Flask) -> None:
    db.init_app(app)
    app.teardown_request(_close_connection)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10000))
        app.extensions[RESPONDENT_ENGINE] = (_autocommit_engine(app, engine)
                                             if engine.dialect.name == "postgresql" else engine)
    app.cli.add_command(init_db_command)

