"""The respondent path's SQL: a few fixed, parameterised statements run on the driver.

Every request of a respondent runs one to five of these.  Going through the ORM's unit of work,
or even SQLAlchemy Core's execution machinery, costs several times the CPU the database needs
for these indexed one-row statements, so the hot path sends fixed SQL texts with bound
parameters straight to the DB-API connection under the request's Core connection
(``survey.db.connection()``): same connection, same transaction, same pool.  Values are always
bound parameters, never formatted into the SQL (``IN`` lists get one placeholder per value).
Timestamps are converted by the ``DateTime`` type's own bind processor for the dialect, so rows
are stored exactly as SQLAlchemy stores them; a driver error that means a lost connection
invalidates it in the pool as SQLAlchemy would.

Saving a page (answers, progress, the page's save time and, on the last page, completion) is
one atomic unit on both back ends:

* SQLite: a few short statements in the request's ``BEGIN IMMEDIATE`` transaction (SQLite has no
  network round trips, and the write lock serialises concurrent saves).
* PostgreSQL: one statement (data-modifying CTEs) run on its own — every round trip holds a
  synchronous gunicorn worker, so a save is two round trips in all: read, then write.

Either way the write starts with the guard ``UPDATE responses … WHERE status = 'in_progress'``:
a response that is already complete is never changed again, and a concurrent second submit of
the same response waits for the first one's row lock and then finds nothing to do.

**Quotas** (survey/quotas.py).  In a wave with quotas, the submit that completes a response
whose answers place it in a quota cell first reserves its place with one conditional
``UPDATE quota_cells SET filled = filled + 1 WHERE id = :cell AND (cap IS NULL OR filled <
cap)``: the database's row lock makes the count exact however many complete at once.  No place
left: the response is closed as ``screened_out`` instead, its answers deleted, in the same unit
(SQLite: the same transaction; PostgreSQL: the same statement, which locks the response row
first so that a double submit cannot count twice).  ``screen_if_full`` does the same earlier,
at the page that answers the quota's last question, when the cell is full already.  Waves
without quotas run none of this.

Stored times keep the minute only (README.md, "Data protection"): a save writes ``updated_at``
and the page's save times to the minute; completing a response stores ``duration_s`` from the
exact ``started_at`` (kept only while in progress), cuts ``started_at`` and ``submitted_at`` to
the minute and sets the token and resume-code hashes to NULL, in the same statement.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import DateTime

from .db import connection
from .models import to_minute
from .wave_cache import dialects


class ResponseRow(NamedTuple):
    id: int
    status: str
    page_index: int
    language: str
    started_at: datetime
    presentation_seed: int | None


# a completed response has no token hash, so these find in-progress responses only
_BY_TOKEN = """
SELECT id, status, page_index, language, started_at, presentation_seed
  FROM responses
 WHERE token_hash = :token AND wave_id = :wave_id
"""
_WITH_ANSWERS = """
SELECT r.id, r.status, r.page_index, r.language, r.started_at, r.presentation_seed,
       a.item, a.code, a.value
  FROM responses AS r LEFT OUTER JOIN answers AS a ON a.response_id = r.id
 WHERE r.token_hash = :token AND r.wave_id = :wave_id
"""

# ------------------------------------------------------------------ SQLite (and any other)
_GUARD = """
UPDATE responses
   SET page_index = CASE WHEN page_index < :page_index THEN :page_index ELSE page_index END,
       updated_at = :now,
       language = :lang
 WHERE id = :rid AND status = 'in_progress'
"""
_COMPLETE = """
UPDATE responses
   SET status = 'complete', submitted_at = :now, started_at = :started,
       duration_s = :duration, token_hash = NULL, resume_code_hash = NULL
 WHERE id = :rid AND status = 'in_progress'
"""
_DELETE_ANSWERS = "DELETE FROM answers WHERE response_id = :rid AND item IN ({placeholders})"
_INSERT_ANSWER = ("INSERT INTO answers (response_id, item, code, value) "
                  "VALUES (:rid, :item, :code, :value)")
_UPSERT_PAGE_SQLITE = """
INSERT INTO page_saves (response_id, page_key, first_saved_at, saved_at)
VALUES (:rid, :page_key, :now, :now)
ON CONFLICT (response_id, page_key) DO UPDATE SET saved_at = excluded.saved_at
"""

# ------------------------------------------------------------------ PostgreSQL
# The rows deleted (page items left unanswered or hidden) and the rows upserted (answers given)
# never overlap, so the CTEs, which all see the same snapshot, cannot step on each other.
_SAVE_PAGE_PG = """
WITH claimed AS (
    UPDATE responses
       SET page_index = GREATEST(page_index, :page_index),
           updated_at = :now,
           language = :lang,
           status = CASE WHEN :complete THEN 'complete' ELSE status END,
           submitted_at = CASE WHEN :complete THEN :now ELSE submitted_at END,
           started_at = CASE WHEN :complete THEN :started ELSE started_at END,
           duration_s = CASE WHEN :complete THEN CAST(:duration AS integer) ELSE duration_s END,
           token_hash = CASE WHEN :complete THEN NULL ELSE token_hash END,
           resume_code_hash = CASE WHEN :complete THEN NULL ELSE resume_code_hash END
     WHERE id = :rid AND status = 'in_progress'
    RETURNING id
), cleared AS (
    DELETE FROM answers
     WHERE response_id IN (SELECT id FROM claimed) AND item = ANY(CAST(:clear AS varchar[]))
), answered AS (
    INSERT INTO answers (response_id, item, code, value)
    SELECT claimed.id, given.item, given.code, given.value
      FROM claimed,
           unnest(CAST(:items AS varchar[]), CAST(:codes AS integer[]),
                  CAST(:texts AS varchar[])) AS given(item, code, value)
    ON CONFLICT (response_id, item) DO UPDATE SET code = EXCLUDED.code, value = EXCLUDED.value
), saved AS (
    INSERT INTO page_saves (response_id, page_key, first_saved_at, saved_at)
    SELECT claimed.id, :page_key, :now, :now FROM claimed
    ON CONFLICT (response_id, page_key) DO UPDATE SET saved_at = EXCLUDED.saved_at
)
SELECT count(*) FROM claimed
"""

# ------------------------------------------------------------------ quotas
_RESERVE = """
UPDATE quota_cells SET filled = filled + 1
 WHERE id = :cell AND (cap IS NULL OR filled < cap)
"""
_IS_FULL = "SELECT 1 FROM quota_cells WHERE id = :cell AND cap IS NOT NULL AND filled >= cap"
_SCREEN_OUT = """
UPDATE responses
   SET status = 'screened_out', submitted_at = :now, updated_at = :now, started_at = :started,
       duration_s = :duration, language = :lang, token_hash = NULL, resume_code_hash = NULL
 WHERE id = :rid AND status = 'in_progress'
"""
_DELETE_ALL_ANSWERS = "DELETE FROM answers WHERE response_id = :rid"
_COUNT_SCREENED = "UPDATE quota_cells SET screened = screened + 1 WHERE id = :cell"

# the last page of a response in a quota cell: lock the response (a concurrent second submit
# of it waits here, then finds it no longer in progress and does nothing), take a place in the
# cell if there is one, then complete the response, or close it as screened out and delete
# its answers; either way in this one statement
_COMPLETE_IN_CELL_PG = """
WITH target AS (
    SELECT id FROM responses WHERE id = :rid AND status = 'in_progress' FOR UPDATE
), reserved AS (
    UPDATE quota_cells SET filled = filled + 1
     WHERE id = :cell AND (cap IS NULL OR filled < cap) AND EXISTS (SELECT 1 FROM target)
    RETURNING id
), claimed AS (
    UPDATE responses
       SET page_index = GREATEST(page_index, :page_index),
           updated_at = :now,
           language = :lang,
           status = CASE WHEN EXISTS (SELECT 1 FROM reserved) THEN 'complete'
                         ELSE 'screened_out' END,
           submitted_at = :now,
           started_at = :started,
           duration_s = CAST(:duration AS integer),
           token_hash = NULL,
           resume_code_hash = NULL
     WHERE id IN (SELECT id FROM target)
    RETURNING id, status
), cleared AS (
    DELETE FROM answers
     WHERE response_id IN (SELECT id FROM claimed)
       AND (item = ANY(CAST(:clear AS varchar[]))
            OR EXISTS (SELECT 1 FROM claimed WHERE status = 'screened_out'))
), answered AS (
    INSERT INTO answers (response_id, item, code, value)
    SELECT claimed.id, given.item, given.code, given.value
      FROM claimed,
           unnest(CAST(:items AS varchar[]), CAST(:codes AS integer[]),
                  CAST(:texts AS varchar[])) AS given(item, code, value)
     WHERE claimed.status = 'complete'
    ON CONFLICT (response_id, item) DO UPDATE SET code = EXCLUDED.code, value = EXCLUDED.value
), saved AS (
    INSERT INTO page_saves (response_id, page_key, first_saved_at, saved_at)
    SELECT claimed.id, :page_key, :now, :now FROM claimed WHERE claimed.status = 'complete'
    ON CONFLICT (response_id, page_key) DO UPDATE SET saved_at = EXCLUDED.saved_at
)
SELECT status FROM claimed
"""
# a page that places the response in a full cell: close it as screened out, if still in
# progress, and count it in the cell
_SCREEN_IF_FULL_PG = """
WITH full_cell AS (
    SELECT id FROM quota_cells WHERE id = :cell AND cap IS NOT NULL AND filled >= cap
), closed AS (
    UPDATE responses
       SET status = 'screened_out', submitted_at = :now, updated_at = :now,
           started_at = :started, duration_s = CAST(:duration AS integer), language = :lang,
           token_hash = NULL, resume_code_hash = NULL
     WHERE id = :rid AND status = 'in_progress' AND EXISTS (SELECT 1 FROM full_cell)
    RETURNING id
), cleared AS (
    DELETE FROM answers WHERE response_id IN (SELECT id FROM closed)
), counted AS (
    UPDATE quota_cells SET screened = screened + 1
     WHERE id IN (SELECT id FROM full_cell) AND EXISTS (SELECT 1 FROM closed)
)
SELECT count(*) FROM closed
"""

# what save_page did
SAVED = "saved"
SCREENED_OUT = "screened_out"

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _sql(conn, text: str) -> str:
    """``text`` in the driver's parameter style (written with ``:name`` placeholders, which
    sqlite3 takes as they are; psycopg wants ``%(name)s``)."""
    key = ("sql", conn.dialect.driver, conn.dialect.paramstyle, text)
    sql = dialects.get(key)
    if sql is None:
        sql = dialects.get_or_make(key, lambda: _in_paramstyle(conn.dialect, text))
    return sql


def _in_paramstyle(dialect, text: str) -> str:
    if dialect.driver == "pysqlite" or dialect.paramstyle == "named":
        return text
    if dialect.paramstyle in ("pyformat", "format"):
        return _NAMED.sub(r"%(\1)s", text.replace("%", "%%"))
    raise NotImplementedError(f"driver {dialect.driver}: use sqlite or psycopg")


def _timestamp(conn, value: datetime):
    """``value`` as SQLAlchemy's ``DateTime`` binds it on this dialect (a string on SQLite)."""
    key = ("bind timestamp", conn.dialect.name)
    process = dialects.get(key, False)
    if process is False:
        process = dialects.get_or_make(
            key, lambda: DateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect))
    return process(value) if process is not None else value


def _read_timestamp(conn, value) -> datetime:
    """A timestamp as the driver returned it → ``datetime`` (SQLite returns the stored text)."""
    key = ("read timestamp", conn.dialect.name)
    process = dialects.get(key, False)
    if process is False:
        process = dialects.get_or_make(
            key, lambda: DateTime().dialect_impl(conn.dialect).result_processor(conn.dialect, None))
    return process(value) if process is not None else value


def _row(conn, values) -> ResponseRow:
    rid, status, page_index, language, started_at, seed = values
    return ResponseRow(rid, status, page_index, language, _read_timestamp(conn, started_at),
                       seed)


# the key of a PostgreSQL connection's cursor in its pool record's ``info``
_CURSOR = "survey.store.cursor"


def _cursor(pooled, raw):
    """PostgreSQL: the one psycopg cursor of this DB-API connection, kept with it in the pool
    (SQLAlchemy clears ``info`` when it replaces the connection).  A new cursor per statement
    cost measurably more CPU.  Every caller reads a statement's result before it runs the next
    one, so one cursor per connection is enough."""
    cursor = pooled.info.get(_CURSOR)
    if cursor is None or cursor.connection is not raw:
        cursor = pooled.info[_CURSOR] = raw.cursor()
    return cursor


def _run(conn, text: str, params, *, many: bool = False):
    """Execute on the DB-API connection; returns the driver's cursor."""
    sql = _sql(conn, text)
    pooled = conn.connection
    raw = pooled.driver_connection
    try:
        if many:
            cursor = raw.cursor()
            cursor.executemany(sql, params)
            return cursor
        if conn.dialect.name == "postgresql":
            return _cursor(pooled, raw).execute(sql, params)
        return raw.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        if conn.dialect.is_disconnect(exc, raw, None):
            conn.invalidate(exc)  # as SQLAlchemy does: the pool drops this connection
        raise


def _ensure_transaction(conn) -> None:
    """SQLite: start the request's transaction (``BEGIN IMMEDIATE`` for a POST) as SQLAlchemy
    would on its first statement.  PostgreSQL connections run in AUTOCOMMIT, where a
    SQLAlchemy transaction would be bookkeeping only (no BEGIN reaches the server)."""
    if conn.dialect.name != "postgresql" and not conn.in_transaction():
        conn.begin()


def response_by_token(token_hash: str, wave_id: int) -> ResponseRow | None:
    """The in-progress response whose token has this hash (``models.token_hash``), or None."""
    conn = connection()
    _ensure_transaction(conn)
    row = _run(conn, _BY_TOKEN, {"token": token_hash, "wave_id": wave_id}).fetchone()
    return _row(conn, row) if row is not None else None


def response_with_answers(token_hash: str, wave_id: int):
    """``(response row, {item: answer})`` in one round trip, or ``(None, {})``; an answer is
    its ``code`` (int) or, for numbers and texts kept as text, its ``value`` (str)."""
    conn = connection()
    _ensure_transaction(conn)
    rows = _run(conn, _WITH_ANSWERS, {"token": token_hash, "wave_id": wave_id}).fetchall()
    if not rows:
        return None, {}
    answers = {row[6]: row[7] if row[7] is not None else row[8]
               for row in rows if row[6] is not None}
    return _row(conn, rows[0][:6]), answers


def _code(answer):
    """An answer's integer column: ints (option codes, whole numbers, bitmasks) go there..."""
    return None if isinstance(answer, str) else answer


def _text(answer):
    """...and strings (decimal numbers as written, texts) to the text column."""
    return answer if isinstance(answer, str) else None


def duration_seconds(started_at: datetime, submitted_at: datetime) -> int:
    """Whole seconds from the exact start to the exact submission (never negative)."""
    return max(0, round((submitted_at - started_at).total_seconds()))


def save_page(response_id: int, *, page_key: str, page_codes, answers: dict[str, int | str],
              page_index: int, now: datetime, language: str, complete: bool = False,
              drop=(), started_at: datetime | None = None,
              quota_cell: int | None = None) -> str | None:
    """Save one page of an in-progress response, atomically.

    The page's stored answers become ``answers`` (its other items are cleared), ``drop`` lists
    further items whose answers go (hidden by a changed answer), the furthest page reached
    becomes at least ``page_index``, the page's save time is recorded, and with ``complete``
    the response is submitted.  Returns ``SAVED``, or None, changing nothing, when the response
    is no longer in progress.  Completing with ``quota_cell`` (the id of the cell the answers
    place the response in) takes a place in the cell first; with none left the response is
    closed as screened out, its answers deleted, and ``SCREENED_OUT`` returned.  ``now`` is
    the exact time; what is stored keeps its minute.  Completing needs the response's exact
    ``started_at``.  The caller commits (``survey.db.commit()``)."""
    conn = connection()
    _ensure_transaction(conn)
    clear = [code for code in page_codes if code not in answers] + list(drop)
    stamp = _timestamp(conn, to_minute(now))
    if complete and started_at is None:
        raise ValueError("completing a response needs its started_at")
    duration = duration_seconds(started_at, now) if complete else None
    started = _timestamp(conn, to_minute(started_at or now))
    in_cell = complete and quota_cell is not None
    if conn.dialect.name == "postgresql":
        if in_cell:
            row = _run(conn, _COMPLETE_IN_CELL_PG, {
                "rid": response_id, "cell": quota_cell, "page_index": page_index, "now": stamp,
                "lang": language, "clear": clear, "items": list(answers),
                "codes": [_code(v) for v in answers.values()],
                "texts": [_text(v) for v in answers.values()], "page_key": page_key,
                "started": started, "duration": duration,
            }).fetchone()
            if row is None:
                return None
            if row[0] == "screened_out":
                _run(conn, _COUNT_SCREENED, {"cell": quota_cell})
                return SCREENED_OUT
            return SAVED
        claimed = _run(conn, _SAVE_PAGE_PG, {
            "rid": response_id, "page_index": page_index, "now": stamp, "lang": language,
            "complete": complete, "clear": clear, "items": list(answers),
            "codes": [_code(v) for v in answers.values()],
            "texts": [_text(v) for v in answers.values()], "page_key": page_key,
            "started": started,
            "duration": duration,
        }).fetchone()[0]
        return SAVED if claimed == 1 else None
    guard = _run(conn, _GUARD, {"rid": response_id, "page_index": page_index, "now": stamp,
                                "lang": language})
    if guard.rowcount != 1:
        return None
    if in_cell and _run(conn, _RESERVE, {"cell": quota_cell}).rowcount != 1:
        _screen_out(conn, response_id, quota_cell, stamp, started, duration, language)
        return SCREENED_OUT
    codes = list(page_codes) + clear
    if codes:
        params = {"rid": response_id, **{f"c{i}": code for i, code in enumerate(codes)}}
        placeholders = ", ".join(f":c{i}" for i in range(len(codes)))
        _run(conn, _DELETE_ANSWERS.format(placeholders=placeholders), params)
    if answers:
        _run(conn, _INSERT_ANSWER, [
            {"rid": response_id, "item": code, "code": _code(value), "value": _text(value)}
            for code, value in answers.items()
        ], many=True)
    _run(conn, _UPSERT_PAGE_SQLITE, {"rid": response_id, "page_key": page_key, "now": stamp})
    if complete:
        _run(conn, _COMPLETE, {"rid": response_id, "now": stamp, "started": started,
                               "duration": duration})
    return SAVED


def _screen_out(conn, response_id: int, cell: int, stamp, started, duration,
                language: str) -> bool:
    """SQLite: close the response as screened out, delete its answers, count it in the cell
    (in the request's transaction, which holds the write lock)."""
    closed = _run(conn, _SCREEN_OUT, {"rid": response_id, "now": stamp, "started": started,
                                      "duration": duration, "lang": language})
    if closed.rowcount != 1:
        return False
    _run(conn, _DELETE_ALL_ANSWERS, {"rid": response_id})
    _run(conn, _COUNT_SCREENED, {"cell": cell})
    return True


def screen_if_full(response_id: int, quota_cell: int, *, now: datetime, started_at: datetime,
                   language: str) -> bool:
    """At the page whose answers place the response in ``quota_cell``: if the cell is full,
    close the response as screened out (answers deleted, counted in the cell) and return True;
    otherwise change nothing.  The caller commits."""
    conn = connection()
    _ensure_transaction(conn)
    stamp = _timestamp(conn, to_minute(now))
    started = _timestamp(conn, to_minute(started_at))
    duration = duration_seconds(started_at, now)
    if conn.dialect.name == "postgresql":
        return _run(conn, _SCREEN_IF_FULL_PG, {
            "rid": response_id, "cell": quota_cell, "now": stamp, "started": started,
            "duration": duration, "lang": language}).fetchone()[0] == 1
    if _run(conn, _IS_FULL, {"cell": quota_cell}).fetchone() is None:
        return False
    return _screen_out(conn, response_id, quota_cell, stamp, started, duration, language)
