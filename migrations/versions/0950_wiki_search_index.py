"""wiki search index: an FTS5 table kept by triggers (SQLite), GIN tsvector expression indexes (PostgreSQL)

Revision ID: 0950
Revises: 0930
Create Date: 2026-12-02 11:50:00.000000

"""
from alembic import op

from models import search

# revision identifiers, used by Alembic.
revision = '0950'
down_revision = '0930'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in search.sqlite_statements() + search.sqlite_rebuild_statements():
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in search.postgresql_statements():
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in search.sqlite_drop_statements():
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in search.postgresql_drop_statements():
            op.execute(statement)
