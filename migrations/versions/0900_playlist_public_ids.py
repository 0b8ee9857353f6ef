"""playlists get a random public id: the sqids of their sequential keys could be guessed

Revision ID: 0900
Revises: 0800
Create Date: 2026-12-03 09:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0900'
down_revision = '0800'
branch_labels = None
depends_on = None

# A snapshot of models.playlist.new_public_id as of this revision (migrations do not import models).
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LENGTH = 16


def new_public_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def upgrade():
    with op.batch_alter_table('playlist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=LENGTH), nullable=True))

    connection = op.get_bind()
    playlist = sa.table('playlist', sa.column('id', sa.Integer), sa.column('public_id', sa.String))
    ids = connection.execute(sa.select(playlist.c.id)).scalars().all()
    fresh: set[str] = set()
    while len(fresh) < len(ids):  # distinct before the unique index exists
        fresh.add(new_public_id())
    if ids:
        connection.execute(
            playlist.update().where(playlist.c.id == sa.bindparam('row_id')).values(public_id=sa.bindparam('new_id')),
            [{'row_id': row_id, 'new_id': new_id} for row_id, new_id in zip(ids, fresh)],
        )

    with op.batch_alter_table('playlist', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=LENGTH), nullable=False)
        batch_op.create_index(batch_op.f('ix_playlist_public_id'), ['public_id'], unique=True)


def downgrade():
    with op.batch_alter_table('playlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlist_public_id'))
        batch_op.drop_column('public_id')
