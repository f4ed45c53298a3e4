"""request trace: delivery.request_id (the web request that opened the delivery; the worker's log
lines about sending it carry the same id)

Revision ID: 0027_request_trace
Revises: 0026_retention
"""
import sqlalchemy as sa
from alembic import op

revision = '0027_request_trace'
down_revision = '0026_retention'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery') as batch:
        batch.drop_column('request_id')
