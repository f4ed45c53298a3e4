"""catalog in the database: catalog_definition (imported service definitions as TOML text) and
catalog_version (one row, raised by every import; each process reloads when it moves)

Revision ID: 0023_s3
Revises: 0022_stats_speed
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0023_s3'
down_revision = '0022_stats_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'catalog_definition',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('imported_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_catalog_definition')),
    )
    op.create_table(
        'catalog_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_version')),
    )


def downgrade():
    op.drop_table('catalog_version')
    op.drop_table('catalog_definition')
