"""delivery progress: an adapter's notes on a delivery, kept across attempts

Revision ID: 0007_delivery_progress
Revises: 0006_delivery_timeouts
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_delivery_progress'
down_revision = '0006_delivery_timeouts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('progress')
