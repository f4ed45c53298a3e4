"""audit log: hash chain (seq, prev_hash, entry_hash; the chain head) and aggregated anonymous
noise (count, bucket)

Entries written before this migration stay outside the chain (``chained_after_id``).

Revision ID: 0025_audit_chain
Revises: 0023_s3
"""
import sqlalchemy as sa
from alembic import op

revision = '0025_audit_chain'
down_revision = '0023_s3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('count', sa.Integer(), server_default='1', nullable=False))
        batch.add_column(sa.Column('bucket', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))
        batch.create_index('ix_audit_event_seq', ['seq'], unique=True)
        batch.create_index('ix_audit_event_open', ['seq', 'bucket', 'action'], unique=False)
    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('entry_hash', sa.String(length=64), nullable=False),
        sa.Column('chained_after_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    op.execute("INSERT INTO audit_chain_head (id, seq, entry_hash, chained_after_id) "
               "SELECT 1, 0, '" + "0" * 64 + "', COALESCE(MAX(id), 0) FROM audit_event")


def downgrade():
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_open')
        batch.drop_index('ix_audit_event_seq')
        batch.drop_column('entry_hash')
        batch.drop_column('prev_hash')
        batch.drop_column('seq')
        batch.drop_column('bucket')
        batch.drop_column('count')
