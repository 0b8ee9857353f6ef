"""today's statistics follow the global counter through a trigger: a click is one statement

Revision ID: 0700
Revises: 0600
Create Date: 2026-12-01 23:10:00

"""
from alembic import op

revision = '0700'
down_revision = '0600'
branch_labels = None
depends_on = None

# A snapshot of models.soundboard.COUNT_CLICKS_TODAY as of this revision (migrations do not
# import models, which keep changing).
SQLITE = """
CREATE TRIGGER IF NOT EXISTS global_counter_counts_today
AFTER UPDATE OF count ON global_counter WHEN NEW.count > OLD.count
BEGIN
    INSERT INTO daily_statistic (date, count) VALUES (date('now'), NEW.count - OLD.count)
    ON CONFLICT (date) DO UPDATE SET count = count + excluded.count;
END
"""
POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION global_counter_counts_today() RETURNS trigger AS $$
    BEGIN
        INSERT INTO daily_statistic (date, count)
        VALUES ((now() AT TIME ZONE 'UTC')::date, NEW.count - OLD.count)
        ON CONFLICT (date) DO UPDATE SET count = daily_statistic.count + EXCLUDED.count;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER global_counter_counts_today
    AFTER UPDATE OF count ON global_counter
    FOR EACH ROW WHEN (NEW.count > OLD.count)
    EXECUTE FUNCTION global_counter_counts_today()
    """,
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        op.execute(SQLITE)
    elif dialect == 'postgresql':
        for statement in POSTGRESQL:
            op.execute(statement)
    # The counter's one row, so that no click has to make it.
    op.execute("INSERT INTO global_counter (id, count) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM global_counter WHERE id = 1)")


def downgrade():
    op.execute('DROP TRIGGER IF EXISTS global_counter_counts_today' + (' ON global_counter' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS global_counter_counts_today()')
