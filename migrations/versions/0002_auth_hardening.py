"""auth hardening (sessions, audit, company review)

Revision ID: 0002_auth_hardening
Revises: 0001_initial
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import bizportal.common.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0002_auth_hardening'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('notification_email', sa.String(length=255), nullable=True))

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_occurred_at', ['occurred_at'], unique=False)

    op.create_table('login_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_key', sa.String(length=40), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('provider_sid', sa.String(length=255), nullable=True),
    sa.Column('trust_level', sa.String(length=20), nullable=False),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_provider_sid'), ['provider_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_session_user_key'), ['user_key'], unique=False)



def downgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('notification_email')
        batch_op.drop_column('phone')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_fingerprint')

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_key'))
        batch_op.drop_index(batch_op.f('ix_login_session_provider_sid'))

    op.drop_table('login_session')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_occurred_at')

    op.drop_table('audit_event')
