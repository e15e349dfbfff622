"""Per-site delivery passes: a site's pass mark, and the index a pass claims its events by

``sites.delivery_queued_at`` is set when a delivery pass message (``civil.deliver_site``) is
published for the site and cleared when a worker starts it: while set, the broker holds (or
held) one pass message for the site, and no second one is published. A pass takes its site's
waiting events oldest first through ``ix_events_site_waiting``.

Revision ID: 0009_site_passes
Revises: 0008_admin
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_site_passes"
down_revision = "0008_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("delivery_queued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_events_site_waiting", "events", ["site_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_site_waiting", table_name="events")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("delivery_queued_at")
