"""expiring upload claims: a signed upload URL is spent only when its upload is accepted

Revision ID: 0930
Revises: 0920
Create Date: 2026-12-02 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0930'
down_revision = '0920'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('track', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audio_upload_claim', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('audio_upload_claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cover_upload_claim', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('cover_upload_claimed_until', sa.DateTime(timezone=True), nullable=True))
    # Before this revision a URL was marked used when its body started to arrive: a track still
    # waiting for its audio was never accepted, so its URL is usable again.
    op.execute("UPDATE track SET audio_upload_used_at = NULL WHERE status IN ('awaiting_upload', 'error') AND audio_key IS NULL")
    op.execute("UPDATE track SET cover_upload_used_at = NULL WHERE uploaded_cover_key IS NULL")


def downgrade():
    with op.batch_alter_table('track', schema=None) as batch_op:
        batch_op.drop_column('cover_upload_claimed_until')
        batch_op.drop_column('cover_upload_claim')
        batch_op.drop_column('audio_upload_claimed_until')
        batch_op.drop_column('audio_upload_claim')
