"""moderation: moderators, their sites, author standing, review claims, audit log

Revision ID: 0003_moderation
Revises: 0002
Create Date: 2026-11-25 02:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003_moderation"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def _family(code: str) -> str:
    # The same mapping as civil.moderation.reason_tags, frozen here as it was at this revision.
    if code.startswith("toxic"):
        return "toxic"
    if code == "spam_links":
        return "links"
    if code.startswith("spam"):
        return "spam"
    if code in ("banned_word", "suspect_word"):
        return "words"
    if code.startswith("rate_"):
        return "rate"
    return code


def _backfill_tags() -> None:
    bind = op.get_bind()
    comments = sa.table(
        "comments", sa.column("id", ID), sa.column("decision", JSON), sa.column("reason_tags")
    )
    rows = bind.execute(
        sa.select(comments.c.id, comments.c.decision).where(comments.c.decision.is_not(None))
    ).all()
    for comment_id, decision in rows:
        if isinstance(decision, str):
            decision = json.loads(decision)
        tags = sorted(
            {
                _family(r.get("code", ""))
                for r in (decision or {}).get("reasons", [])
                if r.get("action") in ("hold", "reject")
            }
        )
        if tags:
            bind.execute(
                comments.update()
                .where(comments.c.id == comment_id)
                .values(reason_tags="," + ",".join(tags) + ",")
            )


def _append_only() -> None:
    # The audit trail is append-only in the database itself, not just by convention.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("reason_tags", sa.String(200), nullable=True))
        batch.create_index("ix_comments_queue", ["status", "received_at", "id"])
        batch.create_index("ix_comments_site_queue", ["site_id", "status", "received_at", "id"])
        batch.create_index("ix_comments_site_decided", ["site_id", "status", "decided_at", "id"])
        batch.create_index("ix_comments_decided", ["status", "decided_at", "id"])
        batch.create_index("ix_comments_author_queue", ["author_id", "status", "received_at", "id"])
    op.create_table(
        "moderators",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("token_prefix", sa.String(16), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_login_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index("ix_moderators_token_prefix", "moderators", ["token_prefix"])
    op.create_table(
        "moderator_sites",
        sa.Column("moderator_id", ID, nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("moderator_id", "site_id"),
    )
    op.create_table(
        "author_standings",
        sa.Column("author_id", ID, nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("standing", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("author_id"),
    )
    op.create_table(
        "review_claims",
        sa.Column("comment_id", ID, nullable=False),
        sa.Column("moderator_id", ID, nullable=False),
        sa.Column("moderator_email", sa.String(320), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comment_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("comment_id", ID, nullable=True),
        sa.Column("comment_external_id", sa.String(200), nullable=True),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.Column("bulk_id", sa.String(40), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_site_created", "audit_log", ["site_id", "created_at"])
    op.create_index("ix_audit_comment", "audit_log", ["comment_id"])
    _append_only()
    _backfill_tags()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("review_claims")
    op.drop_table("author_standings")
    op.drop_table("moderator_sites")
    op.drop_index("ix_moderators_token_prefix", "moderators")
    op.drop_table("moderators")
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_author_queue")
        batch.drop_index("ix_comments_decided")
        batch.drop_index("ix_comments_site_decided")
        batch.drop_index("ix_comments_site_queue")
        batch.drop_index("ix_comments_queue")
        batch.drop_column("reason_tags")
