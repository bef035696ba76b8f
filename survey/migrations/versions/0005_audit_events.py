"""The audit trail: ``audit_events`` (who opened, closed or exported which wave, when).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 09:00:00

A new table only; nothing already stored changes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_email', sa.String(length=254), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_audit_events_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_audit_events_user_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'],
                                name=op.f('fk_audit_events_wave_id_waves')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    op.create_index('ix_audit_events_organisation_created', 'audit_events',
                    ['organisation_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_audit_events_organisation_created', table_name='audit_events')
    op.drop_table('audit_events')
