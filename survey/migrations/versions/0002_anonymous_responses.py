"""Anonymous responses: keyed hashes instead of tokens, times to the minute, stored duration.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:00:00

``responses.token`` and ``responses.resume_code`` (plain text) are replaced by
``token_hash`` and ``resume_code_hash`` (HMAC-SHA256 under keys derived from the app's
``SECRET_KEY``, see ``survey.models``; NULL once a response is complete), and
``responses.duration_s`` (whole seconds from start to submission) is added.

What happens to the rows already there:

* **Completed responses**: ``duration_s`` is computed from the exact ``started_at`` and
  ``submitted_at`` (rounded to the second), then ``started_at``, ``submitted_at`` and
  ``updated_at`` are cut to the minute, and their token and resume code are dropped: nothing
  links a device to them any more.
* **Responses still in progress** keep their answers, furthest page and exact ``started_at``;
  ``updated_at`` is cut to the minute.  Their resume code is kept as its hash, so the code the
  person was shown (and may have written down) still opens the response once on the resume
  page, which then moves it to the new scheme with a new token and a new code.  Their old
  cookie alone no longer does: cookies issued before this revision are not bound to the device
  that received them (survey/respondent.py), so they count as no cookie and the landing page
  offers Start and the resume page.  Their old token is dropped (``token_hash`` NULL).
* ``page_saves`` times are cut to the minute.

The resume-code hashes need ``SECRET_KEY``, so this revision runs inside the app
(``flask --app survey init-db``, or ``alembic`` through ``env.py``, which builds the app) and
cannot be rendered as offline SQL.  Changing ``SECRET_KEY`` later makes every unfinished
response unreachable (their hashes no longer match), as it already invalidated sessions.

Downgrade restores the two text columns empty of meaning: every response gets fresh random
values that no device holds (the plain values are gone), and the duration column is dropped;
the times stay at minute precision.
"""
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import context, op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# a copy of survey.models.resume_code_hash as of this revision: a migration must not change
# meaning when the app's code changes later
_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"


def _code_hash(secret_key, code: str) -> str:
    secret = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()
    key = hmac.new(secret, b"ten-norms survey: resume code", hashlib.sha256).digest()
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def _secret_key():
    if context.is_offline_mode():
        raise RuntimeError("revision 0002 hashes resume codes with SECRET_KEY: run it online "
                           "(flask --app survey init-db)")
    from flask import current_app

    return current_app.config["SECRET_KEY"]


_MINUTE_SQL = {
    "postgresql": "date_trunc('minute', {column})",
    # SQLAlchemy's SQLite DateTime text: 'YYYY-MM-DD HH:MM:SS.ffffff'
    "sqlite": "strftime('%Y-%m-%d %H:%M:00.000000', {column})",
}
_SECONDS_SQL = {
    "postgresql": "CAST(round(extract(epoch FROM submitted_at - started_at)) AS integer)",
    "sqlite": "CAST(round((julianday(submitted_at) - julianday(started_at)) * 86400) "
              "AS INTEGER)",
}


def upgrade():
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect not in _MINUTE_SQL:
        raise RuntimeError(f"revision 0002 supports sqlite and postgresql, not {dialect}")
    secret_key = _secret_key()
    minute = _MINUTE_SQL[dialect].format

    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('resume_code_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('duration_s', sa.Integer(), nullable=True))

    bind.execute(sa.text(
        f"UPDATE responses SET duration_s = {_SECONDS_SQL[dialect]}, "
        f"started_at = {minute(column='started_at')}, "
        f"submitted_at = {minute(column='submitted_at')}, "
        f"updated_at = {minute(column='updated_at')} "
        "WHERE status = 'complete'"))
    bind.execute(sa.text(
        f"UPDATE responses SET updated_at = {minute(column='updated_at')} "
        "WHERE status = 'in_progress'"))
    bind.execute(sa.text(
        f"UPDATE page_saves SET first_saved_at = {minute(column='first_saved_at')}, "
        f"saved_at = {minute(column='saved_at')}"))
    unfinished = bind.execute(sa.text(
        "SELECT id, resume_code FROM responses WHERE status = 'in_progress'")).fetchall()
    if unfinished:
        bind.execute(sa.text("UPDATE responses SET resume_code_hash = :hash WHERE id = :id"),
                     [{"id": rid, "hash": _code_hash(secret_key, code)}
                      for rid, code in unfinished])

    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint('uq_responses_token', type_='unique')
        batch.drop_constraint('uq_responses_resume_code', type_='unique')
        batch.drop_column('token')
        batch.drop_column('resume_code')
        batch.create_unique_constraint(op.f('uq_responses_token_hash'), ['token_hash'])
        batch.create_unique_constraint(op.f('uq_responses_resume_code_hash'),
                                       ['resume_code_hash'])


def downgrade():
    bind = op.get_bind()
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('token', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('resume_code', sa.String(length=16), nullable=True))
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM responses")).fetchall()]
    if ids:
        bind.execute(sa.text("UPDATE responses SET token = :token, resume_code = :code "
                             "WHERE id = :id"),
                     [{"id": rid, "token": secrets.token_urlsafe(32),
                       "code": "".join(secrets.choice(_ALPHABET) for _ in range(8))}
                      for rid in ids])
    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint('uq_responses_token_hash', type_='unique')
        batch.drop_constraint('uq_responses_resume_code_hash', type_='unique')
        batch.drop_column('token_hash')
        batch.drop_column('resume_code_hash')
        batch.drop_column('duration_s')
        batch.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch.alter_column('resume_code', existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint(op.f('uq_responses_token'), ['token'])
        batch.create_unique_constraint(op.f('uq_responses_resume_code'), ['resume_code'])
