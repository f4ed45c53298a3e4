"""internal notes carry their form's one-time token (the same form posted twice stores one note)

Revision ID: 0014_note_token
Revises: 0013_api_clients
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_note_token'
down_revision = '0013_api_clients'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_token', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_case_note_form_token', ['item_id', 'form_token'])


def downgrade():
    with op.batch_alter_table('case_note', schema=None) as batch_op:
        batch_op.drop_constraint('uq_case_note_form_token', type_='unique')
        batch_op.drop_column('form_token')
