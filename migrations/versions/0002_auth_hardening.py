"""auth hardening (sessions, audit, company review)

Revision ID: 0002_auth_hardening
Revises: 0001_initial
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import bizportal.common.types  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0002_auth_hardening'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
