"""Answers that are not option codes: numbers and short texts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 20:30:00

``answers.value`` (text of at most 500 characters) holds a decimal number as written
(``'12.5'``) or a free-text answer; ``answers.code`` becomes nullable, since such an answer has
no integer.  A whole number and a multiple choice (the bitmask of its options) stay integers in
``code``.  Rows already there are option codes and keep them; nothing else changes.

Downgrade deletes the answers that have no code (an older app could neither show nor export
them) and makes ``code`` required again.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answers') as batch:
        batch.add_column(sa.Column('value', sa.String(length=500), nullable=True))
        batch.alter_column('code', existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM answers WHERE code IS NULL")
    with op.batch_alter_table('answers') as batch:
        batch.drop_column('value')
        batch.alter_column('code', existing_type=sa.Integer(), nullable=False)
