"""The moderation domain on real PostgreSQL: keyset paging, actions, the append-only audit log."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from civil.errors import Unauthorized
from civil.migrate import alembic_config, upgrade
from civil.models import AuditEntry, Comment, Event, Moderator
from civil.moderation import actions, queue
from civil.moderation.accounts import Identity, LockedOut, attempt_login, login
from civil.sites import create_site
from tests.support.moderation import decided_comment, moderator


def test_queue_actions_and_audit_on_postgresql(pg_db) -> None:
    _, db = pg_db
    with db.session() as session:
        site = create_site(
            session, name="PG", callback_url="http://127.0.0.1:9/h", allow_private=True
        )
    ids = [decided_comment(db, site.site_id, toxicity=0.7) for _ in range(5)]
    mod_id, _ = moderator(db, "pg@example.org", [site.site_id])
    me = Identity(mod_id, "pg@example.org", False, frozenset({site.site_id}))
    seen, cursor = [], None
    with db.session() as session:
        while True:
            rows, cursor = queue.queue_page(
                session, me, queue.QueueFilter(reason="toxic"), cursor, 2
            )
            seen += [r.id for r in rows]
            if cursor is None:
                break
    assert seen == ids
    with db.session() as session:
        outcome = actions.act(session, me, ids[0], "reject", "abusive", "insults")
        assert outcome.after == "rejected" and len(outcome.event_ids) == 1
    with db.session() as session:
        assert session.get(Comment, ids[0]).status == "rejected"
        assert session.get(Event, outcome.event_ids[0]).type == "comment.moderated"
        assert session.scalar(select(AuditEntry.note)) == "insults"
    for statement in ("UPDATE audit_log SET note = 'edited'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), db.session() as session:
            session.execute(text(statement))


def test_migration_downgrades_then_upgrades_and_backfills_reason_tags(pg_db) -> None:
    settings, db = pg_db
    with db.session() as session:
        site = create_site(session, name="PG", callback_url=None, allow_private=True)
    comment_id = decided_comment(db, site.site_id, toxicity=0.7)
    command.downgrade(alembic_config(settings), "0002")
    with db.engine.connect() as conn:
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            ).scalars()
        )
    assert "audit_log" not in tables and "moderators" not in tables
    upgrade(settings)
    with db.session() as session:
        assert session.get(Comment, comment_id).reason_tags == ",toxic,"


def test_interleaved_failed_logins_all_count_on_postgresql(pg_db) -> None:
    # On PostgreSQL too: the request that read the account before four others failed still
    # adds its own failure, so the fifth guess locks the account.
    _, db = pg_db
    with db.session() as session:
        site = create_site(session, name="PG", callback_url=None, allow_private=True)
    moderator(db, "pg@example.org", [site.site_id], password="a long secret 9")
    with db.session() as slow:
        loaded = slow.scalar(select(Moderator).where(Moderator.email == "pg@example.org"))
        assert loaded is not None and loaded.failed_logins == 0
        for _ in range(4):
            with pytest.raises(Unauthorized):
                attempt_login(db, "pg@example.org", "guess")
        with pytest.raises(Unauthorized):
            login(slow, "pg@example.org", "guess")
    with pytest.raises(LockedOut):
        attempt_login(db, "pg@example.org", "a long secret 9")
