"""The respondent path's SQL, as Core statements built once per process.

Every request of a respondent runs two or three of these; building a ``select()`` per request
and going through the ORM's unit of work costs more CPU than the database does, so the hot path
uses prebuilt statements with bound parameters on the session's connection (same transaction as
``db.session``; commit with ``db.session.commit()``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import db
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
_GUARD = (
    update(_responses)
    .where(_responses.c.id == bindparam("rid"), _responses.c.status == "in_progress")
    .values(page_index=bindparam("new_page_index"), updated_at=bindparam("now"),
            language=bindparam("lang"))
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
def _upsert_page_save(dialect_insert):
    statement = dialect_insert(_page_saves)
    return statement.on_conflict_do_update(
        index_elements=[_page_saves.c.response_id, _page_saves.c.page_key],
        set_={"saved_at": statement.excluded.saved_at},
    )


_UPSERT_PAGE = {"postgresql": _upsert_page_save(postgresql.insert),
                "sqlite": _upsert_page_save(sqlite.insert)}
_TOUCH_PAGE = (
    update(_page_saves)
    .where(_page_saves.c.response_id == bindparam("rid"),
           _page_saves.c.page_key == bindparam("key"))
    .values(saved_at=bindparam("now"))
)
_INSERT_PAGE = insert(_page_saves)


def _connection():
    return db.session.connection()


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


def claim_for_update(response_id: int, page_index: int, now: datetime, language: str) -> bool:
    """Record progress on an in-progress response; False if it is already complete.

    The first write of the saving transaction: on PostgreSQL it locks the row, so a concurrent
    submit of the same response waits here and then sees it complete."""
    result = _connection().execute(_GUARD, {"rid": response_id, "new_page_index": page_index,
                                            "now": now, "lang": language})
    return result.rowcount == 1


def replace_answers(response_id: int, page_codes, answers: dict[str, int]) -> None:
    """The page's stored answers become ``answers`` (answers to hidden items are dropped)."""
    connection = _connection()
    connection.execute(_DELETE_ANSWERS, {"rid": response_id, "codes": list(page_codes)})
    if answers:
        connection.execute(_INSERT_ANSWER, [
            {"response_id": response_id, "item": code, "code": value}
            for code, value in answers.items()
        ])


def delete_answers(response_id: int, codes) -> None:
    _connection().execute(_DELETE_ANSWERS, {"rid": response_id, "codes": list(codes)})


def record_page_save(response_id: int, page_key: str, now: datetime) -> None:
    """First and last save time of a page, in one statement where the database can upsert."""
    connection = _connection()
    upsert = _UPSERT_PAGE.get(connection.dialect.name)
    if upsert is not None:
        connection.execute(upsert, {"response_id": response_id, "page_key": page_key,
                                    "first_saved_at": now, "saved_at": now})
        return
    touched = connection.execute(_TOUCH_PAGE, {"rid": response_id, "key": page_key, "now": now})
    if touched.rowcount == 0:
        connection.execute(_INSERT_PAGE, {"response_id": response_id, "page_key": page_key,
                                          "first_saved_at": now, "saved_at": now})


def mark_complete(response_id: int, now: datetime) -> bool:
    return _connection().execute(_COMPLETE, {"rid": response_id, "now": now}).rowcount == 1
