"""moderator session generation (revocable sessions)

Revision ID: 0004_sessions
Revises: 0003_spam
Create Date: 2026-11-25 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sessions"
down_revision = "0003_spam"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("moderators", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
