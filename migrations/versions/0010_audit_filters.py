"""audit log: outcome, filing and chamber of an entry; indexes for the admin page's filters

Revision ID: 0010_audit_filters
Revises: 0009_inbox_search
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_audit_filters'
down_revision = '0009_inbox_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=False, server_default='success'))
        batch_op.add_column(sa.Column('filing_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chamber_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_filing_id'), ['filing_id'], unique=False)
        batch_op.create_index('ix_audit_event_action_occurred_at', ['action', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_event_actor_occurred_at', ['actor', 'occurred_at'], unique=False)
    # entries written before outcomes were stored: their kind says how they ended
    op.execute("UPDATE audit_event SET outcome = 'refused' WHERE action = 'access_refused'")
    op.execute("UPDATE audit_event SET outcome = 'failed' WHERE action = 'login_failure'")


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_actor_occurred_at')
        batch_op.drop_index('ix_audit_event_action_occurred_at')
        batch_op.drop_index(batch_op.f('ix_audit_event_filing_id'))
        batch_op.drop_column('chamber_id')
        batch_op.drop_column('filing_id')
        batch_op.drop_column('outcome')
