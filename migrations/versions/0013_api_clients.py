"""chamber API: clients, bearer tokens, rate windows; the chambers' feed positions of inbox items

Revision ID: 0013_api_clients
Revises: 0012_message_token
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0013_api_clients'
down_revision = '0012_message_token'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('chamber_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'], name=op.f('fk_api_client_chamber_id_chamber')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_client_client_id'))
    )
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_client_chamber_id'), ['chamber_id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('issued_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_pk'], ['api_client.id'], name=op.f('fk_api_token_client_pk_api_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_token_token_sha256'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_client_pk'), ['client_pk'], unique=False)

    op.create_table('api_rate_window',
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['api_client.id'], name=op.f('fk_api_rate_window_client_pk_api_client')),
    sa.PrimaryKeyConstraint('client_pk', name=op.f('pk_api_rate_window'))
    )

    op.create_table('inbox_feed',
    sa.Column('chamber_id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'], name=op.f('fk_inbox_feed_chamber_id_chamber')),
    sa.PrimaryKeyConstraint('chamber_id', name=op.f('pk_inbox_feed'))
    )
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_seq', sa.BigInteger(), nullable=True))
    _number_existing_items()
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_item_chamber_feed', ['chamber_id', 'feed_seq'], unique=True)


def _number_existing_items():
    """Items stored before this revision join each chamber's feed in the order they arrived."""
    conn = op.get_bind()
    rows = conn.execute(sa.text('SELECT id, chamber_id FROM inbox_item ORDER BY chamber_id, received_at, id'))
    last: dict[int, int] = {}
    for item_id, chamber_id in rows.fetchall():
        last[chamber_id] = last.get(chamber_id, 0) + 1
        conn.execute(sa.text('UPDATE inbox_item SET feed_seq = :seq WHERE id = :id'),
                     {'seq': last[chamber_id], 'id': item_id})
    for chamber_id, seq in last.items():
        conn.execute(sa.text('INSERT INTO inbox_feed (chamber_id, last_seq) VALUES (:c, :s)'),
                     {'c': chamber_id, 's': seq})


def downgrade():
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_item_chamber_feed')
        batch_op.drop_column('feed_seq')
    op.drop_table('inbox_feed')
    op.drop_table('api_rate_window')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_client_pk'))
    op.drop_table('api_token')
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_client_chamber_id'))
    op.drop_table('api_client')
