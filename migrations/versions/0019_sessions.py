"""login sessions re-checked at the provider: sealed tokens, confirmed_at, checked_at

Revision ID: 0019_sessions
Revises: 0015_stats_rollups
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types

# revision identifiers, used by Alembic.
revision = '0019_sessions'
down_revision = '0015_stats_rollups'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_session') as batch_op:
        batch_op.add_column(sa.Column('tokens', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checked_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('login_session') as batch_op:
        batch_op.drop_column('checked_at')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('tokens')
