"""Organisations, staff accounts, memberships, API tokens; waves belong to an organisation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00

New tables ``organisations`` (a tree through ``parent_id``), ``users`` (argon2 password hash,
optional TOTP secret), ``memberships`` (user, organisation, role) and ``api_tokens`` (SHA-256
of the token only).

What happens to the rows already there: the migration creates the default organisation
(``national``, 全国 / National) and every existing wave belongs to it.  A wave's year is unique
per organisation from here on, no longer across the whole database.  The respondent URLs
(``/YEAR/…``) serve the default organisation's waves, so nothing changes for respondents.

Downgrade drops the new tables and the wave's organisation; it refuses while two waves share a
year (the old schema cannot hold them).
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# a copy of survey.models.DEFAULT_ORGANISATION as of this revision
_DEFAULT = {"code": "national", "name_zh": "全国", "name_en": "National"}


def upgrade():
    organisations = op.create_table(
        'organisations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name_zh', sa.String(length=200), nullable=False),
        sa.Column('name_en', sa.String(length=200), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['organisations.id'],
                                name=op.f('fk_organisations_parent_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
        sa.UniqueConstraint('code', name=op.f('uq_organisations_code')),
    )
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('session_key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('email', name=op.f('uq_users_email')),
        sa.UniqueConstraint('session_key', name=op.f('uq_users_session_key')),
    )
    op.create_table(
        'memberships',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'organiser', 'analyst', 'viewer')",
                           name=op.f('ck_memberships_role')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_memberships_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'organisation_id', name=op.f('pk_memberships')),
    )
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )

    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(organisations, [{**_DEFAULT, "created_at": now}])
    default_id = op.get_bind().execute(
        sa.text("SELECT id FROM organisations WHERE code = :code"),
        {"code": _DEFAULT["code"]}).scalar_one()

    with op.batch_alter_table('waves') as batch:
        batch.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
    op.get_bind().execute(sa.text("UPDATE waves SET organisation_id = :org"),
                          {"org": default_id})
    with op.batch_alter_table('waves') as batch:
        batch.alter_column('organisation_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint('uq_waves_year', type_='unique')
        batch.create_unique_constraint(op.f('uq_waves_organisation_id'),
                                       ['organisation_id', 'year'])
        batch.create_foreign_key(op.f('fk_waves_organisation_id_organisations'),
                                 'organisations', ['organisation_id'], ['id'])


def downgrade():
    shared = op.get_bind().execute(sa.text(
        "SELECT year FROM waves GROUP BY year HAVING count(*) > 1")).first()
    if shared is not None:
        raise RuntimeError(f"several organisations have a wave {shared[0]}; the schema before "
                           f"revision 0004 allows one wave a year: delete the extra waves first")
    with op.batch_alter_table('waves') as batch:
        batch.drop_constraint('fk_waves_organisation_id_organisations', type_='foreignkey')
        batch.drop_constraint('uq_waves_organisation_id', type_='unique')
        batch.create_unique_constraint('uq_waves_year', ['year'])
        batch.drop_column('organisation_id')
    op.drop_table('api_tokens')
    op.drop_table('memberships')
    op.drop_table('users')
    op.drop_table('organisations')
