"""notification queue; a person's language

Revision ID: 0005_notification_queue
Revises: 0004_delivery_claim_index
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0005_notification_queue'
down_revision = '0004_delivery_claim_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_until', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_notification_filing_id_filing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_filing_id'), ['filing_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('locale')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_filing_id'))
        batch_op.drop_index('ix_notification_due')

    op.drop_table('notification')
