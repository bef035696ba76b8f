"""The seed of the order a response sees randomised pages and options in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12 09:00:00

``responses.presentation_seed`` (an integer, 0 <= seed < 2**31) is drawn at random when a
response starts; the order of a page's items (``randomise: items``) and of an item's options
(``randomise_options: true``) follows from it (questionnaires/presentation.py), and the export
writes that order.  It is random, derived from nothing about the respondent.

What happens to the rows already there: their seed stays NULL.  They were started on waves
without randomised order (no wave could have one before), so they saw every page and option
in the wave's own order, and that is what a NULL seed means.

Downgrade drops the column (the orders are then no longer known).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('presentation_seed', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('responses') as batch:
        batch.drop_column('presentation_seed')
