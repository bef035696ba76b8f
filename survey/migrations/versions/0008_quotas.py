"""Quotas: ``quotas`` and ``quota_cells``, and the response status ``screened_out``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 00:00:00

A wave's quota cross-classifies one or more single-choice questions into cells, each with an
optional cap and the count of completed responses in it (survey/quotas.py).  A response whose
cell is full is closed as ``screened_out``: its answers are deleted and it is never exported.

What happens to the rows already there: nothing; no wave has quotas, and every response keeps
its status.  Downgrade refuses nothing: it turns screened-out responses (which have no answers)
into nothing by deleting them, drops the status from the check and the two tables.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('in_progress', 'complete')"
NEW_STATUSES = "status IN ('in_progress', 'complete', 'screened_out')"


def upgrade():
    op.create_table(
        'quotas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('items', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_quotas_wave_id_waves')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quotas')),
        sa.UniqueConstraint('wave_id', name=op.f('uq_quotas_wave_id')),
    )
    op.create_table(
        'quota_cells',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quota_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('cap', sa.Integer(), nullable=True),
        sa.Column('filled', sa.Integer(), nullable=False),
        sa.Column('screened', sa.Integer(), nullable=False),
        sa.CheckConstraint('cap IS NULL OR cap >= 0', name=op.f('ck_quota_cells_cap')),
        sa.CheckConstraint('filled >= 0 AND screened >= 0', name=op.f('ck_quota_cells_counts')),
        sa.ForeignKeyConstraint(['quota_id'], ['quotas.id'],
                                name=op.f('fk_quota_cells_quota_id_quotas'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_cells')),
        sa.UniqueConstraint('quota_id', 'key', name=op.f('uq_quota_cells_quota_id')),
    )
    _replace_status_check(NEW_STATUSES)


def downgrade():
    op.execute("DELETE FROM responses WHERE status = 'screened_out'")
    _replace_status_check(OLD_STATUSES)
    op.drop_table('quota_cells')
    op.drop_table('quotas')


def _replace_status_check(statuses: str) -> None:
    """SQLite rebuilds the table (batch mode), PostgreSQL alters it in place."""
    with op.batch_alter_table('responses') as batch:
        batch.drop_constraint(op.f('ck_responses_status'), type_='check')
        batch.create_check_constraint(op.f('ck_responses_status'), statuses)
