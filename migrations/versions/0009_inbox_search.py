"""inbox list: search keys, assignment, visits; indexes for keyset pages, reference prefix and filing status

Revision ID: 0009_inbox_search
Revises: 0008_case_work
"""
import sqlalchemy as sa
from alembic import op

import bizportal.common.types  # noqa: F401  (custom column types used by autogenerate)

# revision identifiers, used by Alembic.
revision = '0009_inbox_search'
down_revision = '0008_case_work'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_name_folded', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('register_number', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('assigned_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_inbox_item_assigned_to_id_staff_user'), 'staff_user',
                                    ['assigned_to_id'], ['id'])
    _backfill_search_keys()
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.alter_column('company_name_folded', server_default=None)
        batch_op.create_index('ix_inbox_item_chamber_received', ['chamber_id', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_inbox_item_chamber_reference', ['chamber_id', 'reference', 'id'], unique=False)
        batch_op.create_index('ix_inbox_item_chamber_reference_prefix', ['chamber_id', 'reference'], unique=False,
                              postgresql_ops={'reference': 'varchar_pattern_ops'})
        batch_op.create_index('ix_inbox_item_chamber_company', ['chamber_id', 'company_name_folded', 'id'],
                              unique=False)
        batch_op.create_index('ix_inbox_item_chamber_assigned', ['chamber_id', 'assigned_to_id', 'received_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_inbox_item_chamber_register', ['chamber_id', 'register_number'], unique=False)
        batch_op.create_index('ix_inbox_item_company_trgm', ['company_name_folded'], unique=False,
                              postgresql_using='gin', postgresql_ops={'company_name_folded': 'gin_trgm_ops'})

    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_status'), ['status'], unique=False)

    op.create_table('inbox_visit',
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('chamber_id', sa.Integer(), nullable=False),
    sa.Column('last_seen_at', bizportal.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('new_since', bizportal.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'], name=op.f('fk_inbox_visit_chamber_id_chamber')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_inbox_visit_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('staff_user_id', 'chamber_id', name=op.f('pk_inbox_visit'))
    )


def _backfill_search_keys():
    """The search keys of items delivered before this revision, from their stored payload (the same
    rules as ``inbox.services.search_keys``, written out here so later changes there do not change
    this migration)."""
    import re

    register_re = re.compile(r"(?<![A-Za-z])(HRA|HRB|PR|GnR|VR)\s*([1-9][0-9]{0,5})(?![0-9])", re.IGNORECASE)
    items = sa.table('inbox_item', sa.column('id', sa.Integer()), sa.column('company', sa.JSON()),
                     sa.column('data', sa.JSON()), sa.column('company_name_folded', sa.String()),
                     sa.column('register_number', sa.String()))
    conn = op.get_bind()
    for row_id, company, data in conn.execute(sa.select(items.c.id, items.c.company, items.c.data)).all():
        register = (data or {}).get('handelsregisternummer')
        match = register_re.search(register) if isinstance(register, str) else None
        conn.execute(items.update().where(items.c.id == row_id).values(
            company_name_folded=str((company or {}).get('name') or '').casefold()[:255],
            register_number=f"{match.group(1).upper()}{match.group(2)}" if match else None))


def downgrade():
    op.drop_table('inbox_visit')
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_status'))
    with op.batch_alter_table('inbox_item', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_item_company_trgm')
        batch_op.drop_index('ix_inbox_item_chamber_register')
        batch_op.drop_index('ix_inbox_item_chamber_assigned')
        batch_op.drop_index('ix_inbox_item_chamber_company')
        batch_op.drop_index('ix_inbox_item_chamber_reference_prefix')
        batch_op.drop_index('ix_inbox_item_chamber_reference')
        batch_op.drop_index('ix_inbox_item_chamber_received')
        batch_op.drop_constraint(batch_op.f('fk_inbox_item_assigned_to_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('assigned_to_id')
        batch_op.drop_column('register_number')
        batch_op.drop_column('company_name_folded')
