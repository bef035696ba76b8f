"""Export jobs: ``export_jobs`` (an export of a wave's responses requested in the console or
the API, run outside the request by ``flask --app survey run-export-jobs`` or the web process's
own thread).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:00:00

A new table only; nothing already stored changes.  Downgrade drops it (the files under
EXPORT_DIR are then no longer listed; remove the folder by hand).
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'export_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.Integer(), nullable=True),
        sa.Column('requester_email', sa.String(length=254), nullable=False),
        sa.Column('format', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.Column('size_bytes', sa.BigInteger(), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=True),
        sa.Column('error_kind', sa.String(length=32), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_export_jobs_status')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_export_jobs_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['requested_by'], ['users.id'],
                                name=op.f('fk_export_jobs_requested_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'],
                                name=op.f('fk_export_jobs_wave_id_waves')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs')),
    )
    op.create_index('ix_export_jobs_status_id', 'export_jobs', ['status', 'id'], unique=False)
    op.create_index('ix_export_jobs_wave_created', 'export_jobs', ['wave_id', 'created_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_export_jobs_wave_created', table_name='export_jobs')
    op.drop_index('ix_export_jobs_status_id', table_name='export_jobs')
    op.drop_table('export_jobs')
