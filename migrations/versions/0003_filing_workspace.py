"""filing workspace (drafts, attachments, events)

Revision ID: 0003_filing_workspace
Revises: 0002_auth_hardening
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import bizportal.common.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0003_filing_workspace'
down_revision = '0002_auth_hardening'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('service_key', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('completed_steps', sa.JSON(), nullable=False),
    sa.Column('pending_input', sa.JSON(), nullable=False),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_draft_company_id_company')),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_draft_created_by_id_person')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['person.id'], name=op.f('fk_draft_updated_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft'))
    )
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_company_id'), ['company_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Uuid(), nullable=True),
    sa.Column('filing_id', sa.Integer(), nullable=True),
    sa.Column('field_name', sa.String(length=50), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=100), nullable=False),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_attachment_company_id_company')),
    sa.ForeignKeyConstraint(['draft_id'], ['draft.id'], name=op.f('fk_attachment_draft_id_draft')),
    sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_attachment_filing_id_filing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachment_storage_key'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_draft_id'), ['draft_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_filing_id'), ['filing_id'], unique=False)

    op.create_table('filing_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filing_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('chamber_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'], name=op.f('fk_filing_event_chamber_id_chamber')),
    sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_filing_event_filing_id_filing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_filing_event'))
    )
    with op.batch_alter_table('filing_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_event_filing_id'), ['filing_id'], unique=False)


    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    with op.batch_alter_table('filing_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_event_filing_id'))

    op.drop_table('filing_event')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_filing_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_draft_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_company_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_company_id'))

    op.drop_table('draft')
