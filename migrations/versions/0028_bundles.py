"""bundles: filing_bundle (one submit of a life-event bundle, with its receipt), filing.bundle_id,
draft.bundle_draft_id and draft.left_out

Revision ID: 0028_bundles
Revises: 0027_request_trace
"""
import sqlalchemy as sa
from alembic import op

revision = '0028_bundles'
down_revision = '0027_request_trace'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'filing_bundle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=32), nullable=False),
        sa.Column('submit_token', sa.String(length=64), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('bundle_key', sa.String(length=100), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('receipt', sa.LargeBinary(), nullable=False),
        sa.Column('receipt_sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_filing_bundle_company_id_company')),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_filing_bundle_person_id_person')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_filing_bundle')),
        sa.UniqueConstraint('reference', name=op.f('uq_filing_bundle_reference')),
        sa.UniqueConstraint('submit_token', name=op.f('uq_filing_bundle_submit_token')),
    )
    op.create_index(op.f('ix_filing_bundle_company_id'), 'filing_bundle', ['company_id'])
    op.create_index(op.f('ix_filing_bundle_bundle_key'), 'filing_bundle', ['bundle_key'])
    with op.batch_alter_table('filing') as batch:
        batch.add_column(sa.Column('bundle_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_filing_bundle_id'), ['bundle_id'])
        batch.create_foreign_key(batch.f('fk_filing_bundle_id_filing_bundle'), 'filing_bundle', ['bundle_id'], ['id'])
    with op.batch_alter_table('draft') as batch:
        batch.add_column(sa.Column('bundle_draft_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('left_out', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_draft_bundle_draft_id'), ['bundle_draft_id'])


def downgrade():
    with op.batch_alter_table('draft') as batch:
        batch.drop_index(batch.f('ix_draft_bundle_draft_id'))
        batch.drop_column('left_out')
        batch.drop_column('bundle_draft_id')
    with op.batch_alter_table('filing') as batch:
        batch.drop_constraint(batch.f('fk_filing_bundle_id_filing_bundle'), type_='foreignkey')
        batch.drop_index(batch.f('ix_filing_bundle_id'))
        batch.drop_column('bundle_id')
    op.drop_index(op.f('ix_filing_bundle_bundle_key'), table_name='filing_bundle')
    op.drop_index(op.f('ix_filing_bundle_company_id'), table_name='filing_bundle')
    op.drop_table('filing_bundle')
