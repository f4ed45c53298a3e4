"""conversation: the one-time token of the form that sent a message, unique per filing

Revision ID: 0012_message_token
Revises: 0011_message_delivery
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_message_token'
down_revision = '0011_message_delivery'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('filing_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_token', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_filing_message_form_token', ['filing_id', 'form_token'])


def downgrade():
    with op.batch_alter_table('filing_message', schema=None) as batch_op:
        batch_op.drop_constraint('uq_filing_message_form_token', type_='unique')
        batch_op.drop_column('form_token')
