"""soundboard as the original: no NULL sources, milestones' sound, stored live settings

Sources are never NULL ("no-source", what the original's pages expect), milestones remember the
sound that reached them, and admin overrides of the live settings live in the database so that
every process applies the same ones.

Revision ID: 0800
Revises: 0700
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0800'
down_revision = '0700'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE sound SET source = 'no-source' WHERE source IS NULL")
    with op.batch_alter_table('sound', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=128), nullable=False, server_default='no-source')

    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sound_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_milestone_sound_id_sound'), 'sound', ['sound_id'], ['id'], ondelete='SET NULL')

    op.create_table('soundboard_setting',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_soundboard_setting'))
    )


def downgrade():
    op.drop_table('soundboard_setting')

    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_milestone_sound_id_sound'), type_='foreignkey')
        batch_op.drop_column('sound_id')

    with op.batch_alter_table('sound', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=128), nullable=True, server_default=None)
    op.execute("UPDATE sound SET source = NULL WHERE source = 'no-source'")
