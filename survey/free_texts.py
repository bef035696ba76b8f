"""The free texts of a wave's short ``text`` questions, read in the console by those who may
read its answers (never printed in a report: the analysis refuses codebook type ``text``).

Only completed responses (the rows of the export), each text beside the response's public id
and nothing else about the respondent; ordered by that random id, so the page reveals neither
the order nor the time of submission."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from questionnaires.question_types import question_type

from .db import db
from .models import Answer, Response, Wave

TEXTS_PER_PAGE = 50


def text_items(definition) -> list:
    """The wave's items whose answers are free texts (codebook type ``text``), in order."""
    return [item for item in definition.items.values()
            if question_type(item).codebook_type == "text"]


@dataclass(frozen=True)
class TextsPage:
    item: object
    rows: list[tuple[str, str]]  # (response public id, text)
    number: int  # 1-based
    pages: int
    total: int


def _texts_of(wave: Wave, code: str):
    return (select(Response.public_id, Answer.value)
            .join(Answer, Answer.response_id == Response.id)
            .where(Response.wave_id == wave.id, Response.status == "complete",
                   Answer.item == code, Answer.value.is_not(None)))


def texts_page(wave: Wave, item, number: int) -> TextsPage:
    """Page ``number`` (clamped to the pages there are) of ``item``'s texts."""
    query = _texts_of(wave, item.code)
    total = db.session.execute(
        select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // TEXTS_PER_PAGE))
    number = min(max(number, 1), pages)
    rows = db.session.execute(query.order_by(Response.public_id)
                              .offset((number - 1) * TEXTS_PER_PAGE)
                              .limit(TEXTS_PER_PAGE)).all()
    return TextsPage(item=item, rows=[tuple(r) for r in rows], number=number, pages=pages,
                     total=total)
