"""reader reports, appeals, erasures, daily statistics; do_not_store; audit anonymisation

Revision ID: 0007_readers
Revises: 0005_dispatch
Create Date: 2026-12-01 13:40:00

The audit log stays append-only with exactly one exception: an author's erasure may clear an
entry's free-text ``note`` while stamping ``anonymised_at``, once, with every other column
unchanged. Any other UPDATE, and every DELETE, is still refused by the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_readers"
down_revision = "0006_policy"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)
# Columns an anonymisation must leave exactly as they were.
UNCHANGED = (
    "id",
    "site_id",
    "comment_id",
    "comment_external_id",
    "author_id",
    "actor",
    "action",
    "reason",
    '"before"',
    '"after"',
    "bulk_id",
    "created_at",
)


def _anonymisation(same: str) -> str:
    """SQL true exactly when an UPDATE of audit_log is the erasure's anonymisation."""
    kept = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in UNCHANGED)
    return (
        "OLD.anonymised_at IS NULL AND NEW.anonymised_at IS NOT NULL "
        f"AND NEW.note IS NULL AND {kept}"
    )


PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN IF TG_OP = 'UPDATE' AND {allowed} THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'audit_log is append-only'; END $$"
)
PG_ORIGINAL = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
)


def _audit_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION.format(allowed=_anonymisation("IS NOT DISTINCT FROM")))
        return
    op.execute("DROP TRIGGER audit_log_no_update")
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        f"WHEN NOT ({_anonymisation('IS')}) "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the table and its triggers.
    op.add_column("audit_log", sa.Column("anonymised_at", WHEN, nullable=True))
    op.add_column(
        "comments",
        sa.Column("do_not_store", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _audit_trigger()
    op.create_table(
        "reports",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("comment_id", ID, nullable=False),
        sa.Column("reporter_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("settled_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("comment_id", "reporter_id"),
    )
    op.create_index("ix_reports_site_reporter", "reports", ["site_id", "reporter_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("comment_id", ID, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_appealed", sa.String(16), nullable=False),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.Column("moderator", sa.String(320), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeals_status_created", "appeals", ["status", "created_at"])
    op.create_index("ix_appeals_comment", "appeals", ["comment_id"])
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erasures_site_id", "erasures", ["site_id"])
    op.create_table(
        "daily_stats",
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "day", "status", "decided_by"),
    )


def downgrade() -> None:
    op.drop_table("daily_stats")
    op.drop_index("ix_erasures_site_id", "erasures")
    op.drop_table("erasures")
    op.drop_index("ix_appeals_comment", "appeals")
    op.drop_index("ix_appeals_status_created", "appeals")
    op.drop_table("appeals")
    op.drop_index("ix_reports_site_reporter", "reports")
    op.drop_table("reports")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ORIGINAL)
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("do_not_store")
    op.drop_column("audit_log", "anonymised_at")
