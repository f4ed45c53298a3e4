"""draft.reopened_steps: a bundle's service draft, the steps a changed answer of the bundle opened
again (the bundle's overview says so until they are completed again)

Revision ID: 0032_draft_reopened
Revises: 0029_web_speed
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_draft_reopened"
down_revision = "0029_web_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.add_column(sa.Column("reopened_steps", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.drop_column("reopened_steps")
