"""steering statistics: stat_rollup (daily rollups by service, body, adapter and detail),
stat_histogram (duration histograms), stat_active_member (per-period sets of keyed company
hashes), stat_abandoned_draft

Revision ID: 0015_stats_rollups
Revises: 0017_receipts
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0015_stats_rollups'
down_revision = '0017_receipts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stat_rollup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('service_key', sa.String(length=100), nullable=False),
        sa.Column('body_kind', sa.String(length=16), nullable=False),
        sa.Column('chamber_slug', sa.String(length=64), nullable=False),
        sa.Column('adapter_key', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.String(length=64), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stat_rollup')),
        sa.UniqueConstraint('metric', 'day', 'service_key', 'body_kind', 'chamber_slug', 'adapter_key', 'detail',
                            name='uq_stat_rollup_key'),
    )
    op.create_table(
        'stat_histogram',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('service_key', sa.String(length=100), nullable=False),
        sa.Column('body_kind', sa.String(length=16), nullable=False),
        sa.Column('chamber_slug', sa.String(length=64), nullable=False),
        sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stat_histogram')),
        sa.UniqueConstraint('metric', 'day', 'service_key', 'body_kind', 'chamber_slug', name='uq_stat_histogram_key'),
    )
    op.create_table(
        'stat_active_member',
        sa.Column('period', sa.String(length=12), nullable=False),
        sa.Column('member', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('period', 'member', name=op.f('pk_stat_active_member')),
    )
    op.create_table(
        'stat_abandoned_draft',
        sa.Column('draft_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('service_key', sa.String(length=100), nullable=False),
        sa.Column('step', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('draft_id', name=op.f('pk_stat_abandoned_draft')),
    )
    op.create_index('ix_stat_abandoned_draft_day', 'stat_abandoned_draft', ['day'], unique=False)


def downgrade():
    op.drop_index('ix_stat_abandoned_draft_day', table_name='stat_abandoned_draft')
    op.drop_table('stat_abandoned_draft')
    op.drop_table('stat_active_member')
    op.drop_table('stat_histogram')
    op.drop_table('stat_rollup')
