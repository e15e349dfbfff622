"""Coral phase secrets and notification settings on sites; disabled moderators; notifications

Revision ID: 0008_admin
Revises: 0005_dispatch
Create Date: 2026-12-01 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_admin"
down_revision = "0007_readers"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("coral", _json(), nullable=True))
        batch.add_column(sa.Column("notify", _json(), nullable=True))
    with op.batch_alter_table("moderators") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "site_id", sa.String(40), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("channels", _json(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_notifications_site_kind_sent", "notifications", ["site_id", "kind", "sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_site_kind_sent", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("moderators") as batch:
        batch.drop_column("disabled_at")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("notify")
        batch.drop_column("coral")
