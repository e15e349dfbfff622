"""policy versions with a history, a shadow candidate per site, article sections and surges

Revision ID: 0006_policy
Revises: 0005_dispatch
Create Date: 2026-12-01 13:40:00

Every policy change becomes a row of ``policy_versions`` (who, when, why, the diff); the site
keeps the number of its live version. A site may attach a candidate policy (and model) that
runs in shadow: ``shadow_decisions`` holds what it would have decided beside the live decision.
Articles get the ``section`` a site sends and ``surge_until``, the end of a burst-guard
pre-moderation. Existing sites get version 1: their policy as it stands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_policy"
down_revision = "0005_dispatch"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(40), sa.ForeignKey("sites.id", ondelete="CASCADE")),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "version"),
    )
    op.create_table(
        "shadow_decisions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(40), sa.ForeignKey("sites.id", ondelete="CASCADE")),
        sa.Column(
            "comment_id", PK, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("candidate_id", sa.String(40), nullable=False),
        sa.Column("live_action", sa.String(16), nullable=False),
        sa.Column("shadow_action", sa.String(16), nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("candidate_id", "comment_id"),
    )
    op.create_index(
        "ix_shadow_site_candidate_created",
        "shadow_decisions",
        ["site_id", "candidate_id", "created_at"],
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("policy_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("candidate", JSON, nullable=True))
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("section", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("surge_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_comments_article_received", "comments", ["article_id", "received_at"])
    _first_versions()


def _first_versions() -> None:
    bind = op.get_bind()
    sites = bind.execute(sa.text("SELECT id, policy FROM sites")).all()
    versions = sa.table(
        "policy_versions",
        sa.column("site_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("policy", JSON),
        sa.column("diff", JSON),
        sa.column("actor", sa.String),
        sa.column("source", sa.String),
        sa.column("why", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {
            "site_id": site_id,
            "version": 1,
            "policy": policy if isinstance(policy, dict) else json.loads(policy or "{}"),
            "diff": {},
            "actor": "migration",
            "source": "migration",
            "why": "the policy in force when versions began",
            "created_at": now,
        }
        for site_id, policy in sites
    ]
    if rows:
        op.bulk_insert(versions, rows)
    bind.execute(sa.text("UPDATE sites SET policy_version = 1"))


def downgrade() -> None:
    op.drop_index("ix_comments_article_received", table_name="comments")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("surge_until")
        batch_op.drop_column("section")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("candidate")
        batch_op.drop_column("policy_version")
    op.drop_index("ix_shadow_site_candidate_created", table_name="shadow_decisions")
    op.drop_table("shadow_decisions")
    op.drop_table("policy_versions")
