"""Account events in the audit trail: ``audit_events.organisation_id`` may be NULL; API
tokens keep their first characters (``api_tokens.prefix``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15 09:00:00

Sign-ins, failed sign-ins, sign-outs, second-factor changes, roles, accounts and API tokens
are recorded in ``audit_events`` (survey/audit.py), one row per organisation the account
belongs to.  A failed sign-in with an address that has no account belongs to no
organisation: its row has ``organisation_id`` NULL (the admins of a root organisation see
those).  Nothing already stored changes: every existing row keeps its organisation.

``api_tokens.prefix`` is ``tn_`` and the next 8 characters of a new token (48 of its 256
random bits), shown in the console's token list and accepted by ``revoke-token``.  Tokens made
before have none (only their SHA-256 was kept): they are listed and revoked by their number.

Downgrade drops the prefixes and deletes the rows without an organisation (they cannot satisfy
NOT NULL), then makes the column NOT NULL again; the account events with an organisation stay.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events') as batch:
        batch.alter_column('organisation_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('prefix', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('prefix')
    op.execute("DELETE FROM audit_events WHERE organisation_id IS NULL")
    with op.batch_alter_table('audit_events') as batch:
        batch.alter_column('organisation_id', existing_type=sa.Integer(), nullable=False)
