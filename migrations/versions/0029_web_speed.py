"""filing: index (company_id, submitted_at, id) for one page of a company's filings, newest first

Revision ID: 0029_web_speed
Revises: 0031_bundles_context
"""

from alembic import op

revision = "0029_web_speed"
down_revision = "0031_bundles_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("filing") as batch:
        batch.create_index("ix_filing_company_submitted", ["company_id", "submitted_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("filing") as batch:
        batch.drop_index("ix_filing_company_submitted")
