"""spam reputation and near-duplicate index

Revision ID: 0003_spam
Revises: 0003_moderation
Create Date: 2026-11-25 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_spam"
down_revision = "0003_moderation"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "spam_reputation",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("spam", sa.Integer(), nullable=False),
        sa.Column("ham", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "kind", "value"),
    )
    op.create_table(
        "spam_fingerprints",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("comment_id", PK, nullable=True),
        sa.Column("article_id", PK, nullable=True),
        sa.Column("label", sa.String(length=8), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spam_fingerprints", schema=None) as batch_op:
        batch_op.create_index("ix_spam_fingerprints_comment", ["comment_id", "label"])
        batch_op.create_index("ix_spam_fingerprints_created", ["created_at"])
    op.create_table(
        "spam_bands",
        sa.Column("fingerprint_id", PK, nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["fingerprint_id"], ["spam_fingerprints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("fingerprint_id", "band"),
    )
    with op.batch_alter_table("spam_bands", schema=None) as batch_op:
        batch_op.create_index("ix_spam_bands_key", ["band_key"])


def downgrade() -> None:
    op.drop_table("spam_bands")
    op.drop_table("spam_fingerprints")
    op.drop_table("spam_reputation")
