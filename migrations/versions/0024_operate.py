"""receiving bodies: the municipality keys (AGS) they cover

Revision ID: 0024_operate
Revises: 0019_sessions
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024_operate'
down_revision = '0019_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chamber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('municipality_keys', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('chamber', schema=None) as batch_op:
        batch_op.drop_column('municipality_keys')
