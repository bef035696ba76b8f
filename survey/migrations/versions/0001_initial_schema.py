"""Initial schema: waves, questionnaires, responses, answers, page saves.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:43:54.661113
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opens', sa.Date(), nullable=True),
    sa.Column('closes', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_waves_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waves')),
    sa.UniqueConstraint('year', name=op.f('uq_waves_year'))
    )
    op.create_table('questionnaires',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=128), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'],
                            name=op.f('fk_questionnaires_wave_id_waves')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')),
    sa.UniqueConstraint('wave_id', name=op.f('uq_questionnaires_wave_id'))
    )
    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('resume_code', sa.String(length=16), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('page_index', sa.SmallInteger(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('in_progress', 'complete')", name=op.f('ck_responses_status')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_responses_wave_id_waves')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('public_id', name=op.f('uq_responses_public_id')),
    sa.UniqueConstraint('resume_code', name=op.f('uq_responses_resume_code')),
    sa.UniqueConstraint('token', name=op.f('uq_responses_token'))
    )
    op.create_index('ix_responses_wave_status', 'responses', ['wave_id', 'status', 'id'])

    op.create_table('answers',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('code', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'],
                            name=op.f('fk_answers_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'item', name=op.f('pk_answers'))
    )
    op.create_table('page_saves',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('page_key', sa.String(length=64), nullable=False),
    sa.Column('first_saved_at', sa.DateTime(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'],
                            name=op.f('fk_page_saves_response_id_responses'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'page_key', name=op.f('pk_page_saves'))
    )


def downgrade():
    op.drop_table('page_saves')
    op.drop_table('answers')
    op.drop_index('ix_responses_wave_status', table_name='responses')
    op.drop_table('responses')
    op.drop_table('questionnaires')
    op.drop_table('waves')
