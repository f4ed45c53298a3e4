"""what the receiver and the company are told: who filed and the receivers as at submit, the stored receipt

Revision ID: 0017_receipts
Revises: 0014_note_token
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0017_receipts'
down_revision = '0014_note_token'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filed_by', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('receivers', sa.JSON(), nullable=True))
    op.create_table('filing_receipt',
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_filing_receipt_filing_id_filing')),
    sa.PrimaryKeyConstraint('filing_id', name=op.f('pk_filing_receipt'))
    )


def downgrade():
    op.drop_table('filing_receipt')
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.drop_column('receivers')
        batch_op.drop_column('filed_by')
