"""company messages forwarded through the outbox: delivery.message_id, filing_message.forwarded_at

A delivery row carries a filing (message_id NULL: still one per filing and destination) or one
company message about it (one per message).

Revision ID: 0011_message_delivery
Revises: 0010_audit_filters
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types

# revision identifiers, used by Alembic.
revision = '0011_message_delivery'
down_revision = '0010_audit_filters'
branch_labels = None
depends_on = None

_FILING_ROWS = sa.text("message_id IS NULL")


def upgrade():
    with op.batch_alter_table('filing_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forwarded_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_delivery_message_id_filing_message', 'filing_message',
                                    ['message_id'], ['id'])
        batch_op.drop_constraint('uq_delivery_filing_chamber', type_='unique')
    op.create_index('uq_delivery_filing_chamber', 'delivery', ['filing_id', 'chamber_id'], unique=True,
                    sqlite_where=_FILING_ROWS, postgresql_where=_FILING_ROWS)
    op.create_index('uq_delivery_message', 'delivery', ['message_id'], unique=True)
    # answers written before: an inbox body read them in the portal when they were written
    op.execute("UPDATE filing_message SET forwarded_at = created_at WHERE kind = 'answer'")


def downgrade():
    op.drop_index('uq_delivery_message', table_name='delivery')
    op.drop_index('uq_delivery_filing_chamber', table_name='delivery')
    op.execute("DELETE FROM delivery WHERE message_id IS NOT NULL")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('fk_delivery_message_id_filing_message', type_='foreignkey')
        batch_op.drop_column('message_id')
        batch_op.create_unique_constraint('uq_delivery_filing_chamber', ['filing_id', 'chamber_id'])
    with op.batch_alter_table('filing_message', schema=None) as batch_op:
        batch_op.drop_column('forwarded_at')
