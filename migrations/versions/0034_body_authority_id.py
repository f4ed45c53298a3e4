"""chamber.authority_prefix / authority_id: a body's Behördenkennung (DVDV) for the header of
XGewerbeanzeige messages, as the administrator entered it; empty until entered

Revision ID: 0034_body_authority_id
Revises: 0033_draft_revision
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_body_authority_id"
down_revision = "0033_draft_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chamber") as batch:
        batch.add_column(sa.Column("authority_prefix", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("authority_id", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chamber") as batch:
        batch.drop_column("authority_id")
        batch.drop_column("authority_prefix")
