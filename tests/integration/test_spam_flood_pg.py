"""Near-duplicate lookups on real PostgreSQL: bounded bucket reads, labels in their own space."""

from __future__ import annotations

from alembic import command
from sqlalchemy import insert

from civil.migrate import alembic_config, upgrade
from civil.models import SpamBand, SpamFingerprint, utcnow
from civil.sites import create_site
from civil.spam import neardup

TEXT = "Earn 500 dollars a day from home, message me on telegram to learn how today"


def test_a_flood_reads_the_same_rows_as_a_few_copies_and_keeps_the_label(pg_db) -> None:
    _settings, db = pg_db
    values = neardup.signature(TEXT)
    with db.session() as s:
        site = create_site(s, name="Labelled", callback_url=None, allow_private=True)
        other = create_site(s, name="Flood", callback_url=None, allow_private=True)
        neardup.add(
            s,
            values,
            site_id=site.site_id,
            comment_id=None,
            article_id=None,
            label="spam",
            now=utcnow(),
        )

    def flood(count: int, start: int) -> None:
        with db.session() as s:
            for n in range(start, start + count):
                neardup.add(
                    s,
                    values,
                    site_id=other.site_id,
                    comment_id=None,
                    article_id=n,
                    label=None,
                    now=utcnow(),
                )

    def lookup() -> tuple[int, list[str | None]]:
        with db.session() as s:
            ids = neardup.candidate_ids(s, neardup.band_keys(values))
            found = neardup.find(s, values, site_id=site.site_id, comment_id=None, now=utcnow())
        return len(ids), sorted(m.label or "" for m in found if m.label)

    flood(2 * neardup.BUCKET_READ, 0)
    small = lookup()
    flood(10 * neardup.BUCKET_READ, 1000)
    assert lookup() == small == (neardup.BUCKET_READ, ["spam"])


def test_the_migration_moves_labelled_bands_into_their_sites_key_space(pg_db) -> None:
    settings, db = pg_db
    with db.session() as s:
        site = create_site(s, name="Before", callback_url=None, allow_private=True)
    command.downgrade(alembic_config(settings), "0004_sessions")
    values = neardup.signature(TEXT)
    with db.engine.begin() as conn:  # a label stored as the previous revision keyed it
        fp = conn.execute(
            insert(SpamFingerprint.__table__).returning(SpamFingerprint.__table__.c.id),
            {
                "site_id": site.site_id,
                "label": "spam",
                "signature": values.tobytes(),
                "created_at": utcnow(),
            },
        ).scalar_one()
        conn.execute(
            insert(SpamBand.__table__),
            [
                {"fingerprint_id": fp, "band": i, "band_key": k}
                for i, k in enumerate(neardup.band_keys(values))
            ],
        )
    upgrade(settings)
    with db.session() as s:
        found = neardup.find(s, values, site_id=site.site_id, comment_id=None, now=utcnow())
    assert [(m.label, m.similarity) for m in found] == [("spam", 1.0)]
