"""draft.revision: the number of saves of a draft, the version counter that tells a page opened
before a colleague's save from a current one (optimistic concurrency of shared drafts)

Revision ID: 0033_draft_revision
Revises: 0032_draft_reopened
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_draft_revision"
down_revision = "0032_draft_reopened"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.drop_column("revision")
