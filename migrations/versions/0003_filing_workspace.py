"""filing workspace (drafts, attachments, events)

Revision ID: 0003_filing_workspace
Revises: 0002_auth_hardening
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import bizportal.common.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0003_filing_workspace'
down_revision = '0002_auth_hardening'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
