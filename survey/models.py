"""Database tables: waves, the frozen questionnaire each wave used, responses and their answers.

Timestamps are stored as naive UTC (``utc_now()``); SQLite has no time zone type and PostgreSQL's
``timestamp without time zone`` keeps the two back ends identical.  Nothing here identifies a
person: a response carries random tokens, the language it was answered in and server timestamps.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import db

WAVE_STATUSES = ("draft", "open", "closed")
RESPONSE_STATUSES = ("in_progress", "complete")

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or typed from a screenshot cannot be misread.
RESUME_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
RESUME_CODE_LENGTH = 8


def utc_now() -> datetime:
    """The current time as naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_token() -> str:
    """A random cookie token (256 bits); it authorises continuing a response."""
    return secrets.token_urlsafe(32)


def new_public_id() -> str:
    """The random response id that appears in the export (128 bits, no personal meaning)."""
    return secrets.token_hex(16)


def new_resume_code() -> str:
    """Eight characters from an unambiguous alphabet (25**8 ≈ 1.5e11 codes)."""
    return "".join(secrets.choice(RESUME_ALPHABET) for _ in range(RESUME_CODE_LENGTH))


def normalise_resume_code(text: str) -> str:
    """What a person typed → the stored form: upper case, spaces and dashes removed."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Wave(db.Model):
    """One survey wave (one a year).  ``status`` is set by the open-wave/close-wave commands;
    ``opens``/``closes`` are the dates (in the survey's time zone) between which an open wave
    accepts answers."""

    __tablename__ = "waves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    opens: Mapped[date | None] = mapped_column(Date)
    closes: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    questionnaire: Mapped[Questionnaire | None] = relationship(back_populates="wave")

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
    )


class Questionnaire(db.Model):
    """The frozen wave definition (``questionnaires.Wave.to_dict()`` as JSON) and its content hash,
    one per wave.  load-questionnaire may replace it only while the wave has no responses, so a
    definition never changes under existing answers."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), nullable=False, unique=True)
    content_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str | None] = mapped_column(String(500))
    loaded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    wave: Mapped[Wave] = relationship(back_populates="questionnaire")


class Response(db.Model):
    """One respondent's answers to one wave, in progress or complete.

    ``public_id`` is the id in the export; ``token`` (cookie) and ``resume_code`` (typed by the
    person on another device) authorise continuing it and never leave the web tier."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False,
                                           default=new_public_id)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False, default=new_token)
    resume_code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False,
                                             default=new_resume_code)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_progress")
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="zh")
    # index of the furthest page reached; a person may move freely up to here
    page_index: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'complete')", name="status"),
        # the export scans the completed responses of one wave in id order
        Index("ix_responses_wave_status", "wave_id", "status", "id"),
    )


class Answer(db.Model):
    """One answer: an integer option code (9 = not applicable) for one item code."""

    __tablename__ = "answers"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Integer, not SmallInteger: option codes may be large (provinces use their GB/T 2260 code)
    code: Mapped[int] = mapped_column(Integer, nullable=False)


class PageSave(db.Model):
    """When a response's page was last saved (server time), for speeder checks."""

    __tablename__ = "page_saves"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    page_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_saved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
