"""Database URLs, and engines that can only read.

:func:`read_only_engine` is how a reader outside the app opens the survey database
(``survey-analysis … --database URL``): SQLite through a read-only URI (``mode=ro``, plus
``PRAGMA query_only``), so not even a journal is written; PostgreSQL with every transaction
``READ ONLY`` (the server refuses any write), on top of which the role it connects as should
have SELECT only (docs/analysis.md, "Reading the database")."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .errors import TableError

# seconds a PostgreSQL connection attempt may take before it is a connection failure
CONNECT_TIMEOUT = 10


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://``/``postgresql://`` spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def shown_url(url) -> str:
    """``url`` as messages show it: the password hidden."""
    return url.render_as_string(hide_password=True)


def read_only_engine(text: str):
    """An engine on the database at URL ``text`` that cannot write (module docstring).  A URL
    that is not one, names another kind of database or a SQLite file that does not exist is a
    :class:`TableError`; the server is first contacted when a connection is opened."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(normalise_database_url(text.strip()))
        backend = url.get_backend_name()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise TableError(f"'{_masked(text)}' is not a database URL (e.g. "
                         "sqlite:///instance/survey.sqlite or "
                         "postgresql://user@host/db)") from None
    if backend == "postgresql":
        try:
            return create_engine(url, execution_options={"postgresql_readonly": True},
                                 connect_args={"connect_timeout": CONNECT_TIMEOUT})
        except (ArgumentError, NoSuchModuleError) as exc:
            raise TableError(f"{shown_url(url)}: {exc}") from None
    if backend != "sqlite":
        raise TableError(f"{shown_url(url)}: only SQLite and PostgreSQL databases are read")
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise TableError(f"{shown_url(url)}: give the path of the SQLite file "
                         "(sqlite:///path/to/survey.sqlite)")
    path = Path(url.database).resolve()
    if not path.is_file():
        raise TableError(f"{url.database}: no such SQLite database file")
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect():
        # isolation_level None: BEGIN is emitted below, so a read is one snapshot
        connection = sqlite3.connect(uri, uri=True, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA query_only = ON")
        return connection

    engine = create_engine("sqlite://", creator=connect)

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.connection.driver_connection.execute("BEGIN")

    return engine


def _masked(text: str) -> str:
    """A text that is no URL, shown without what could be a password (``user:secret@``)."""
    return re.sub(r":[^:@/]*@", ":***@", text.strip())[:200]
