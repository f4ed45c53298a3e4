"""retention: draft.retention_reminded_at, notification.filing_id nullable (a draft's reminder),
retention_run (reports; the worker's one run a day)

Revision ID: 0026_retention
Revises: 0025_audit_chain
"""
import sqlalchemy as sa
from alembic import op

revision = '0026_retention'
down_revision = '0025_audit_chain'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('draft') as batch:
        batch.add_column(sa.Column('retention_reminded_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('notification') as batch:
        batch.alter_column('filing_id', existing_type=sa.Integer(), nullable=True)
    op.create_table(
        'retention_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run')),
        sa.UniqueConstraint('day', name=op.f('uq_retention_run_day')),
    )


def downgrade():
    op.drop_table('retention_run')
    op.execute("DELETE FROM notification WHERE filing_id IS NULL")
    with op.batch_alter_table('notification') as batch:
        batch.alter_column('filing_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('draft') as batch:
        batch.drop_column('retention_reminded_at')
