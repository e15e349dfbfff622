"""delivery messages marked on their event; near-duplicate buckets read newest-first

Revision ID: 0005_dispatch
Revises: 0004_sessions
Create Date: 2026-12-01 11:20:00

``events.enqueued_at`` marks an event whose delivery message is in the broker, so the
dispatcher re-sends only messages known lost. ``spam_bands`` gets a ``(band_key,
fingerprint_id)`` index (a lookup reads a bucket's newest rows), and labelled fingerprints are
re-keyed into their site's own key space, apart from the buckets of posts.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005_dispatch"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

BANDS, ROWS = 32, 2


def _keys(signature: bytes, space: bytes) -> list[int]:
    # The band key of civil.spam.neardup at this revision, kept here so the migration
    # means the same thing whatever the module becomes.
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(space + bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def _rekey_labelled(space_of: object) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, site_id, signature FROM spam_fingerprints WHERE label IS NOT NULL")
    ).all()
    update = sa.text(
        "UPDATE spam_bands SET band_key = :key WHERE fingerprint_id = :fp AND band = :band"
    )
    for fp, site_id, signature in rows:
        space = space_of(site_id)  # type: ignore[operator]
        params = [
            {"key": key, "fp": fp, "band": band}
            for band, key in enumerate(_keys(bytes(signature), space))
        ]
        if params:
            bind.execute(update, params)


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("spam_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_spam_bands_key")
        batch_op.create_index("ix_spam_bands_key_fp", ["band_key", "fingerprint_id"])
    _rekey_labelled(lambda site_id: b"label:" + site_id.encode() + b"\0")


def downgrade() -> None:
    _rekey_labelled(lambda site_id: b"")
    with op.batch_alter_table("spam_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_spam_bands_key_fp")
        batch_op.create_index("ix_spam_bands_key", ["band_key"])
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("enqueued_at")
