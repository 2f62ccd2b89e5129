"""account session tokens (sessions die with the password)

Each account gets a random session token, part of every session and "remember me" cookie it has; a new token
(password change or reset, "log out of all devices", a revoked role) ends them all. Existing accounts get a
random token each; the sessions they have open, which hold only the bare id, end once at this upgrade.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

"""
import secrets

import sqlalchemy as sa
from alembic import op

import fellowship.models  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))

    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('session_token', sa.String(64)))
    connection = op.get_bind()
    ids = connection.execute(sa.select(users.c.id)).scalars().all()
    for start in range(0, len(ids), 1000):
        connection.execute(
            users.update().where(users.c.id == sa.bindparam('user_id')).values(session_token=sa.bindparam('token')),
            [{'user_id': user_id, 'token': secrets.token_urlsafe(32)} for user_id in ids[start:start + 1000]],
        )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
