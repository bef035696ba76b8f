"""Database tables: organisations and their staff accounts; waves, the frozen questionnaire each
wave used, responses and their answers.

Timestamps are stored as naive UTC (``utc_now()``); SQLite has no time zone type and PostgreSQL's
``timestamp without time zone`` keeps the two back ends identical.  Nothing here identifies a
person: a response carries keyed hashes of its cookie token and resume code (only while it is in
progress), the language it was answered in and server times to the minute (README.md, "Data
protection").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from questionnaires.presentation import new_seed

from .db import db

WAVE_STATUSES = ("draft", "open", "closed")
# staff roles in an organisation; what each may do is survey/permissions.py
ROLES = ("admin", "organiser", "analyst", "viewer")
# the organisation every wave belonged to before there were several (migration 0004); the
# respondent URLs /YEAR/… serve its waves
DEFAULT_ORGANISATION = {"code": "national", "name_zh": "全国", "name_en": "National"}
# ``screened_out``: closed because the respondent's quota cell was full (survey/quotas.py);
# its answers are deleted, and it is never exported
RESPONSE_STATUSES = ("in_progress", "complete", "screened_out")
# the longest text answer (questionnaires.question_types.text.MAX_LENGTH)
ANSWER_TEXT_LIMIT = 500

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or typed from a screenshot cannot be misread.
RESUME_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
RESUME_CODE_LENGTH = 8


def utc_now() -> datetime:
    """The current time as naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_minute(moment: datetime | None) -> datetime | None:
    """``moment`` without its seconds: the precision the consent text promises for stored
    times."""
    return None if moment is None else moment.replace(second=0, microsecond=0)


def new_token() -> str:
    """A random cookie token (256 bits); it authorises continuing a response.  Only its keyed
    hash (``token_hash``) is stored."""
    return secrets.token_urlsafe(32)


def _derived_key(secret_key, purpose: str) -> bytes:
    """A key of its own per purpose, derived from ``SECRET_KEY`` (HMAC-SHA256 as a KDF), so a
    stored hash cannot be checked with the key that signs cookies, nor one purpose's hash with
    another's."""
    secret = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()
    return hmac.new(secret, f"ten-norms survey: {purpose}".encode(), hashlib.sha256).digest()


def token_hash(secret_key, token: str) -> str:
    """What the database keeps of a cookie token: HMAC-SHA256 under a key derived from
    ``SECRET_KEY`` (64 hex digits).  Without the key a stolen table cannot be matched against
    cookies, and the token itself cannot be recovered from it."""
    key = _derived_key(secret_key, "response token")
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def resume_code_hash(secret_key, code: str) -> str:
    """What the database keeps of a resume code (normalised): HMAC-SHA256 as for tokens."""
    key = _derived_key(secret_key, "resume code")
    return hmac.new(key, normalise_resume_code(code).encode(), hashlib.sha256).hexdigest()


def resume_code_for(secret_key, token: str) -> str:
    """The resume code that goes with a cookie token: derived from it with a key of its own.

    The database stores only hashes, so the code shown on every page is computed from the
    token the device presents; a new token (consent, resume) therefore always brings a new
    code, and the old code stops working with the old token."""
    key = _derived_key(secret_key, "resume code from token")
    number = int.from_bytes(hmac.new(key, token.encode(), hashlib.sha256).digest(), "big")
    letters = []
    for _ in range(RESUME_CODE_LENGTH):  # 256 bits mod 25**8: the bias is below 2**-200
        number, index = divmod(number, len(RESUME_ALPHABET))
        letters.append(RESUME_ALPHABET[index])
    return "".join(letters)


def new_public_id() -> str:
    """The random response id that appears in the export (128 bits, no personal meaning)."""
    return secrets.token_hex(16)


def normalise_resume_code(text: str) -> str:
    """What a person typed → the stored form: upper case, spaces and dashes removed."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Organisation(db.Model):
    """An organisation that runs surveys: national → provincial → city, a tree through
    ``parent_id``.  It owns its waves (and through them questionnaires and responses); who may
    see what across the tree is survey/permissions.py."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])

    @property
    def name(self) -> dict[str, str]:
        """Both names, for the ``tr`` filter."""
        return {"zh": self.name_zh, "en": self.name_en}

    def ancestors(self) -> list[Organisation]:
        """Parent, grandparent, … up to the root."""
        found, node = [], self.parent
        while node is not None and node not in found:
            found.append(node)
            node = node.parent
        return found


@event.listens_for(Organisation.__table__, "after_create")
def _insert_default_organisation(table, connection, **_kw):
    """A database built from the models (tests) has the default organisation too, as one
    built by the migrations has (0004 inserts it)."""
    connection.execute(insert(table).values(**DEFAULT_ORGANISATION, created_at=utc_now()))


def default_organisation_id():
    """The default organisation's id as an SQL expression (a wave created without naming its
    organisation belongs to it)."""
    return (select(Organisation.id).where(Organisation.code == DEFAULT_ORGANISATION["code"])
            .scalar_subquery())


def of_default_organisation(year: int):
    """The condition "wave ``year`` of the default organisation": the commands and the export
    address waves by year, which is unique per organisation."""
    return (Wave.year == year) & (Wave.organisation_id == default_organisation_id())


def of_organisation(year: int, code: str | None):
    """The condition "wave ``year`` of organisation ``code``" (None: the default one)."""
    if code is None:
        return of_default_organisation(year)
    organisation = select(Organisation.id).where(Organisation.code == code).scalar_subquery()
    return (Wave.year == year) & (Wave.organisation_id == organisation)


class User(db.Model):
    """A staff account (never a respondent).  ``email`` is stored in lower case;
    ``password_hash`` is argon2id (argon2-cffi); ``totp_secret`` (base32) switches on the
    second factor; ``session_key`` is what the signed session cookie names (Flask-Login's user
    id), replaced at logout so that every cookie issued before stops working."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # the time step of the last accepted TOTP code: a code is accepted once
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # survey.accounts.new_session_key makes the replacements
    session_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False,
                                             default=lambda: secrets.token_hex(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan")

    # Flask-Login's user protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return self.session_key


class Membership(db.Model):
    """A user's role in one organisation (at most one role per organisation)."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"),
                                                 primary_key=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'organiser', 'analyst', 'viewer')", name="role"),
    )


class ApiToken(db.Model):
    """A bearer token for the API (``Authorization: Bearer …``).  Only its SHA-256 is kept:
    the token is 256 random bits, so a fast hash is as good as a slow one, and no key is
    involved (a changed ``SECRET_KEY`` leaves tokens valid).  ``last_used_at`` to the
    minute.  A revoked token (``revoked_at``) stays, so the list shows when it ended."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # the token's first characters (``tn_`` and 8 more, 48 of its 256 random bits), so that
    # its owner can tell tokens apart and revoke one by it; NULL for tokens made before 0007
    prefix: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class Wave(db.Model):
    """One survey wave of one organisation (one a year: the year is unique per organisation).
    ``status`` is set by the open-wave/close-wave commands; ``opens``/``closes`` are the dates
    (in the survey's time zone) between which an open wave accepts answers."""

    __tablename__ = "waves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, default=default_organisation_id())
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    opens: Mapped[date | None] = mapped_column(Date)
    closes: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    questionnaire: Mapped[Questionnaire | None] = relationship(back_populates="wave")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        UniqueConstraint("organisation_id", "year"),
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

    ``public_id`` is the id in the export.  ``token_hash`` and ``resume_code_hash`` are keyed
    hashes of the cookie token and of the resume code (typed by the person on another device)
    that authorise continuing it; both become NULL when the response completes, so nothing
    links a device to its answers afterwards.  ``started_at`` is exact while the response is in
    progress (for ``duration_s``); at completion it, ``submitted_at`` and ``updated_at`` keep the
    minute only, and ``updated_at`` is stored to the minute on every page save."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False,
                                           default=new_public_id)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    resume_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_progress")
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="zh")
    # index of the furthest page reached; a person may move freely up to here
    page_index: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # submitted_at - started_at in whole seconds, from the exact start (the quality rules need
    # it; the stored times keep the minute only)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # the random seed of the order this response sees randomised pages and options in
    # (questionnaires/presentation.py); NULL for responses started before orders were recorded
    presentation_seed: Mapped[int | None] = mapped_column(Integer, default=new_seed)

    __table_args__ = (
        CheckConstraint("status IN ('in_progress', 'complete', 'screened_out')", name="status"),
        # the export scans the completed responses of one wave in id order
        Index("ix_responses_wave_status", "wave_id", "status", "id"),
    )


class Answer(db.Model):
    """One answer to one item code, in the form its question type stores
    (``questionnaires.question_types``): an integer in ``code`` (an option code, 9 = not
    applicable; a whole number; the bitmask of the options chosen in a multiple choice) or a
    text in ``value`` (a decimal number as written, a free text of at most 500 characters).
    Exactly one of the two is set."""

    __tablename__ = "answers"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Integer, not SmallInteger: option codes may be large (provinces use their GB/T 2260 code)
    code: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[str | None] = mapped_column(String(ANSWER_TEXT_LIMIT))


class PageSave(db.Model):
    """When a response's page was first and last saved (server time, to the minute)."""

    __tablename__ = "page_saves"

    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    page_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_saved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


# what an organiser's action in the console or the API is recorded as (survey/audit.py)
AUDIT_ACTIONS = ("open_wave", "close_wave", "export", "request_export", "create_wave",
                 "view_texts", "read_responses", "define_quotas", "set_quota_caps")
# what happens to an account (survey/audit.py, ``record_account``): sign-ins, roles, tokens
ACCOUNT_ACTIONS = ("login", "login_failed", "logout", "totp_on", "totp_off", "create_user",
                   "grant_role", "change_role", "remove_role", "deactivate_user",
                   "reactivate_user", "create_token", "revoke_token")


class AuditEvent(db.Model):
    """Who did what, when: an organiser created a wave (or replaced its questionnaire), opened
    or closed it, someone exported its responses or read its free texts (``wave_id`` set); or
    something happened to an account (``ACCOUNT_ACTIONS``: a sign-in, a role, a token), one
    row per organisation the account belongs to, ``organisation_id`` NULL when it belongs to
    none (a failed sign-in with an unknown address).  ``user_email`` is kept beside
    ``user_id`` so the trail still names the account after it is deleted (for a failed
    sign-in it is the address as typed, cut to 100 characters; for a command,
    ``COMMAND_LINE``); ``detail`` is a short text (dates, file format, whose role).

    Rows are only ever added: the ORM refuses to change or delete one (below)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_email: Mapped[str] = mapped_column(String(254), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str] = mapped_column(String(500), nullable=False, default="")

    __table_args__ = (
        # the console lists an organisation's events, newest first
        Index("ix_audit_events_organisation_created", "organisation_id", "created_at"),
    )


# an export job's life: queued by the console or the API, claimed by one runner (the
# run-export-jobs worker or the web process's own thread), then done or failed
EXPORT_JOB_STATUSES = ("queued", "running", "done", "failed")


class ExportJob(db.Model):
    """One requested export of a wave's responses table (survey/export_jobs.py): who asked,
    for which wave and format, where it stands, and once done how many rows and bytes the file
    has (``file_name`` under ``EXPORT_DIR/<id>/``).  A failed job keeps a one-line ``error``
    and its kind (``error_kind``, the console's translated message).  Times to the minute;
    ``requester_email`` is kept beside ``requested_by`` as in the audit trail."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"),
                                                 nullable=False)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), nullable=False)
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    requester_email: Mapped[str] = mapped_column(String(254), nullable=False)
    format: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    rows: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(200))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    wave: Mapped[Wave] = relationship()
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        # a runner claims the oldest queued job
        Index("ix_export_jobs_status_id", "status", "id"),
        # the wave page lists its recent jobs
        Index("ix_export_jobs_wave_created", "wave_id", "created_at"),
    )


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper, _connection, target) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")


class Quota(db.Model):
    """A wave's quota: the cross-classification of one or more single-choice questions
    (``items``, item codes joined by commas, in the order chosen) into cells
    (survey/quotas.py).  At most one per wave."""

    __tablename__ = "quotas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), nullable=False, unique=True)
    items: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utc_now)

    cells: Mapped[list[QuotaCell]] = relationship(
        back_populates="quota", cascade="all, delete-orphan", order_by="QuotaCell.id")


class QuotaCell(db.Model):
    """One combination of answers of the quota's questions (``key``: the option codes in the
    quota's item order, joined by ``|``).  ``cap`` None only counts; ``filled`` is the
    completed responses counted in the cell, raised atomically at completion only while below
    the cap; ``screened`` the responses turned away because the cell was full."""

    __tablename__ = "quota_cells"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quota_id: Mapped[int] = mapped_column(ForeignKey("quotas.id", ondelete="CASCADE"),
                                          nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    cap: Mapped[int | None] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    screened: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    quota: Mapped[Quota] = relationship(back_populates="cells")

    __table_args__ = (
        UniqueConstraint("quota_id", "key"),
        CheckConstraint("cap IS NULL OR cap >= 0", name="cap"),
        CheckConstraint("filled >= 0 AND screened >= 0", name="counts"),
    )
