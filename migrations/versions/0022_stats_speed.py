"""steering statistics: yearly copies of the rollups and duration histograms (metric + ':y',
day = 1 January), filled from the monthly copies, so a one-year range reads a few rows per key

Revision ID: 0022_stats_speed
Revises: 0024_operate
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022_stats_speed'
down_revision = '0024_operate'
branch_labels = None
depends_on = None

_KEY = "service_key, body_kind, chamber_slug"

_ROLLUPS = """
    INSERT INTO stat_rollup (metric, day, {key}, adapter_key, detail, count)
    SELECT replace(metric, :monthly, :yearly), {year}, {key}, adapter_key, detail, sum(count)
    FROM stat_rollup WHERE metric LIKE :copies
    GROUP BY replace(metric, :monthly, :yearly), {year}, {key}, adapter_key, detail"""

_HISTOGRAMS = {
    "postgresql": """
        INSERT INTO stat_histogram (metric, day, {key}, counts)
        SELECT metric, day, {key}, jsonb_object_agg(k, n) FROM (
            SELECT replace(h.metric, :monthly, :yearly) AS metric, {year} AS day, {key}, e.key AS k,
                   sum(e.value::bigint) AS n
            FROM stat_histogram h, jsonb_each_text(h.counts) e WHERE h.metric LIKE :copies
            GROUP BY 1, 2, 3, 4, 5, 6) AS buckets
        GROUP BY metric, day, {key}""",
    "sqlite": """
        INSERT INTO stat_histogram (metric, day, {key}, counts)
        SELECT metric, day, {key}, json_group_object(k, n) FROM (
            SELECT replace(h.metric, :monthly, :yearly) AS metric, {year} AS day, {key}, e.key AS k,
                   sum(e.value) AS n
            FROM stat_histogram h, json_each(h.counts) e WHERE h.metric LIKE :copies
            GROUP BY 1, 2, 3, 4, 5, 6) AS buckets
        GROUP BY metric, day, {key}""",
}

_YEAR = {"postgresql": "CAST(date_trunc('year', {col}) AS date)", "sqlite": "date({col}, 'start of year')"}


#: the monthly copies' suffix, and the yearly copies' (``stats.services.MONTHLY``, ``YEARLY``)
_NAMES = {"monthly": ":m", "yearly": ":y", "copies": "%:m"}


def upgrade():
    dialect = op.get_bind().dialect.name
    for sql, col in ((_ROLLUPS, "day"), (_HISTOGRAMS[dialect], "h.day")):
        op.execute(sa.text(sql.format(key=_KEY, year=_YEAR[dialect].format(col=col))).bindparams(**_NAMES))


def downgrade():
    for table in ("stat_histogram", "stat_rollup"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE metric LIKE :yearly").bindparams(yearly="%:y"))
