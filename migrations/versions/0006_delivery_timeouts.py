"""delivery timeouts: attempts without an answer per delivery; answer times per chamber and worker

Revision ID: 0006_delivery_timeouts
Revises: 0005_notification_queue
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0006_delivery_timeouts'
down_revision = '0005_notification_queue'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timeouts', sa.Integer(), server_default='0', nullable=False))

    op.create_table('delivery_timing',
    sa.Column('worker_id', sa.String(length=100), nullable=False),
    sa.Column('chamber_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('timeouts', sa.Integer(), nullable=False),
    sa.Column('answer_ms', sa.JSON(), nullable=False),
    sa.Column('longest_timeout', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'], name=op.f('fk_delivery_timing_chamber_id_chamber')),
    sa.PrimaryKeyConstraint('worker_id', 'chamber_id', name=op.f('pk_delivery_timing'))
    )


def downgrade():
    op.drop_table('delivery_timing')

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('timeouts')
