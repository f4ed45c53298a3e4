"""bundles context: filing.bundle_context (the bundle a filing was submitted with, as its receivers
get it), inbox_item.bundle (the same, as the chamber received it), filing_bundle.left_out (the
services the company left out)

Revision ID: 0031_bundles_context
Revises: 0028_bundles
"""
import sqlalchemy as sa
from alembic import op

revision = '0031_bundles_context'
down_revision = '0028_bundles'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('filing') as batch:
        batch.add_column(sa.Column('bundle_context', sa.JSON(), nullable=True))
    with op.batch_alter_table('inbox_item') as batch:
        batch.add_column(sa.Column('bundle', sa.JSON(), nullable=True))
    with op.batch_alter_table('filing_bundle') as batch:
        batch.add_column(sa.Column('left_out', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('filing_bundle') as batch:
        batch.drop_column('left_out')
    with op.batch_alter_table('inbox_item') as batch:
        batch.drop_column('bundle')
    with op.batch_alter_table('filing') as batch:
        batch.drop_column('bundle_context')
