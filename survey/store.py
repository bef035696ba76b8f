"""The respondent path's SQL, as statements built once per process.

Every request of a respondent runs one or two of these; building a ``select()`` per request and
going through the ORM's unit of work costs more CPU than the database does, so the hot path uses
prebuilt statements with bound parameters on the request's Core connection
(``survey.db.connection()``), never the ORM session.

Saving a page (answers, progress, the page's save time and, on the last page, completion) is
one atomic unit on both back ends:

* SQLite: a few short statements in the request's ``BEGIN IMMEDIATE`` transaction (SQLite has no
  network round trips, and the write lock serialises concurrent saves).
* PostgreSQL: one statement (data-modifying CTEs) run on its own — every round trip holds a
  synchronous gunicorn worker, so a save is two round trips in all: read, then write.

Either way the write starts with the guard ``UPDATE responses … WHERE status = 'in_progress'``:
a response that is already complete is never changed again, and a concurrent second submit of
the same response waits for the first one's row lock and then finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, delete, insert, select, text, update
from sqlalchemy.dialects import sqlite

from .db import connection
from .models import Answer, PageSave, Response

_responses = Response.__table__
_answers = Answer.__table__
_page_saves = PageSave.__table__

_RESPONSE_COLUMNS = (_responses.c.id, _responses.c.status, _responses.c.page_index,
                     _responses.c.resume_code, _responses.c.language)

_BY_TOKEN = select(*_RESPONSE_COLUMNS).where(
    _responses.c.token == bindparam("token"), _responses.c.wave_id == bindparam("wave_id"))
_WITH_ANSWERS = (
    select(*_RESPONSE_COLUMNS, _answers.c.item, _answers.c.code)
    .select_from(_responses.outerjoin(_answers, _answers.c.response_id == _responses.c.id))
    .where(_responses.c.token == bindparam("token"), _responses.c.wave_id == bindparam("wave_id"))
)

# ------------------------------------------------------------------ SQLite (and any other)
_GUARD = (
    update(_responses)
    .where(_responses.c.id == bindparam("rid"), _responses.c.status == "in_progress")
    .values(
        page_index=case((_responses.c.page_index < bindparam("new_page_index"),
                         bindparam("new_page_index")), else_=_responses.c.page_index),
        updated_at=bindparam("now"),
        language=bindparam("lang"),
    )
)
_COMPLETE = (
    update(_responses)
    .where(_responses.c.id == bindparam("rid"), _responses.c.status == "in_progress")
    .values(status="complete", submitted_at=bindparam("now"))
)
_DELETE_ANSWERS = delete(_answers).where(
    _answers.c.response_id == bindparam("rid"),
    _answers.c.item.in_(bindparam("codes", expanding=True)),
)
_INSERT_ANSWER = insert(_answers)
_upsert = sqlite.insert(_page_saves)
_UPSERT_PAGE_SQLITE = _upsert.on_conflict_do_update(
    index_elements=[_page_saves.c.response_id, _page_saves.c.page_key],
    set_={"saved_at": _upsert.excluded.saved_at},
)

# ------------------------------------------------------------------ PostgreSQL
# The rows deleted (page items left unanswered or hidden) and the rows upserted (answers given)
# never overlap, so the CTEs, which all see the same snapshot, cannot step on each other.
_SAVE_PAGE_PG = text("""
WITH claimed AS (
    UPDATE responses
       SET page_index = GREATEST(page_index, :page_index),
           updated_at = :now,
           language = :lang,
           status = CASE WHEN :complete THEN 'complete' ELSE status END,
           submitted_at = CASE WHEN :complete THEN :now ELSE submitted_at END
     WHERE id = :rid AND status = 'in_progress'
    RETURNING id
), cleared AS (
    DELETE FROM answers
     WHERE response_id IN (SELECT id FROM claimed) AND item = ANY(CAST(:clear AS varchar[]))
), answered AS (
    INSERT INTO answers (response_id, item, code)
    SELECT claimed.id, given.item, given.code
      FROM claimed,
           unnest(CAST(:items AS varchar[]), CAST(:codes AS integer[])) AS given(item, code)
    ON CONFLICT (response_id, item) DO UPDATE SET code = EXCLUDED.code
), saved AS (
    INSERT INTO page_saves (response_id, page_key, first_saved_at, saved_at)
    SELECT claimed.id, :page_key, :now, :now FROM claimed
    ON CONFLICT (response_id, page_key) DO UPDATE SET saved_at = EXCLUDED.saved_at
)
SELECT count(*) FROM claimed
""")


def _connection():
    return connection()


def response_by_token(token: str, wave_id: int):
    """(id, status, page_index, resume_code, language) of the token's response, or None."""
    return _connection().execute(_BY_TOKEN, {"token": token, "wave_id": wave_id}).first()


def response_with_answers(token: str, wave_id: int):
    """``(response row, {item: code})`` in one round trip, or ``(None, {})``."""
    rows = _connection().execute(_WITH_ANSWERS, {"token": token, "wave_id": wave_id}).all()
    if not rows:
        return None, {}
    answers = {row.item: row.code for row in rows if row.item is not None}
    return rows[0], answers


def save_page(response_id: int, *, page_key: str, page_codes, answers: dict[str, int],
              page_index: int, now: datetime, language: str, complete: bool = False,
              drop=()) -> bool:
    """Save one page of an in-progress response, atomically.

    The page's stored answers become ``answers`` (its other items are cleared), ``drop`` lists
    further items whose answers go (hidden by a changed answer), the furthest page reached
    becomes at least ``page_index``, the page's save time is recorded, and with ``complete``
    the response is submitted.  Returns False, changing nothing, when the response is no longer
    in progress.  The caller commits (``survey.db.commit()``)."""
    connection = _connection()
    clear = [code for code in page_codes if code not in answers] + list(drop)
    if connection.dialect.name == "postgresql":
        claimed = connection.execute(_SAVE_PAGE_PG, {
            "rid": response_id, "page_index": page_index, "now": now, "lang": language,
            "complete": complete, "clear": clear, "items": list(answers),
            "codes": list(answers.values()), "page_key": page_key,
        }).scalar()
        return claimed == 1
    guard = connection.execute(_GUARD, {"rid": response_id, "new_page_index": page_index,
                                        "now": now, "lang": language})
    if guard.rowcount != 1:
        return False
    connection.execute(_DELETE_ANSWERS, {"rid": response_id, "codes": list(page_codes) + clear})
    if answers:
        connection.execute(_INSERT_ANSWER, [
            {"response_id": response_id, "item": code, "code": value}
            for code, value in answers.items()
        ])
    connection.execute(_UPSERT_PAGE_SQLITE, {"response_id": response_id, "page_key": page_key,
                                             "first_saved_at": now, "saved_at": now})
    if complete:
        connection.execute(_COMPLETE, {"rid": response_id, "now": now})
    return True
