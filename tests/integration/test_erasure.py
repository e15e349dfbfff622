"""An author erased everywhere: every table (all columns) and the Redis broker are searched.

The author is seeded through the real paths: the intake API (scoring messages in Redis), the
scoring pipeline (spam facts: velocity counters in Redis, near-duplicate fingerprints), the
feedback API (labels, reputation by e-mail and IP), reports, an appeal, a moderator's action
(audit entry with a note naming them) and reply callbacks naming them as `parent_author`.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from civil.db import Database
from civil.decision import pipeline
from civil.models import AuditEntry, Base, Comment, DeliveryAttempt, Event, utcnow
from civil.moderation import actions
from civil.moderation.accounts import by_token
from civil.scoring import TOXICITY_LABELS
from civil.settings import Settings
from civil.sites import Credentials, create_site
from service import create_app
from tests.conftest import migrated
from tests.factories import comment_body
from tests.support.moderation import moderator

NAME, EMAIL, IP = "Erin Erasmus", "erin.erasmus@example.org", "198.51.100.77"
TEXT = "zebra quokka marmalade"
NEEDLES = (NAME.lower(), EMAIL, IP, TEXT)
BOB = {"id": "u-bob", "name": "Bob Keeper", "email": "bob.keeper@example.org", "ip": "192.0.2.9"}


class KeywordScorer:
    """Toxic when the text says REJECT, else clean: decisions without a model download."""

    name = "test:keyword"

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [
            dict.fromkeys(TOXICITY_LABELS, 0.01) | {"toxicity": 0.99 if "REJECT" in t else 0.01}
            for t in texts
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: Any, tmp_path: Path, redis_url: str) -> Iterator[tuple[Settings, Database]]:
    settings, db = migrated(request, tmp_path / "var", broker_url=redis_url)
    yield settings, db
    db.engine.dispose()


def _strings(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, dict | list):
        yield json.dumps(value, ensure_ascii=False)
    else:
        yield str(value)


def database_hits(db: Database) -> list[str]:
    """table.column for every cell, in every table the models define, holding a needle."""
    hits = []
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    for piece in _strings(value):
                        for needle in NEEDLES:
                            if needle in piece.lower():
                                hits.append(f"{table.name}.{column}: {needle}")
    return hits


def _decoded(raw: bytes) -> str:
    """A Redis value, with kombu's base64 message bodies decoded too."""
    out = raw.decode("latin-1")
    try:
        message = json.loads(out)
    except ValueError:
        return out
    if isinstance(message, dict) and isinstance(message.get("body"), str):
        with contextlib.suppress(ValueError):
            out += base64.b64decode(message["body"]).decode("latin-1")
    return out


def broker_hits(url: str) -> tuple[list[str], int]:
    client = redis.Redis.from_url(url)
    hits, keys = [], 0
    for key in client.scan_iter("*"):
        keys += 1
        kind = client.type(key).decode()
        values: list[bytes] = [key]
        if kind == "string":
            values.append(client.get(key) or b"")
        elif kind == "list":
            values += client.lrange(key, 0, -1)
        elif kind == "zset":
            values += client.zrange(key, 0, -1)
        elif kind == "set":
            values += list(client.smembers(key))
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                values += [field, value]
        for value in values:
            piece = _decoded(value).lower()
            hits += [f"redis {key.decode()}: {n}" for n in NEEDLES if n in piece]
    client.close()
    return hits, keys


def _post(client: Any, site: Credentials, body: dict[str, Any]) -> None:
    r = client.post(
        f"/v1/sites/{site.site_id}/comments",
        json=body,
        headers={"Authorization": f"Bearer {site.api_key}"},
    )
    assert r.status_code == 202, r.json


def _score_all(db: Database) -> None:
    with db.session() as session:
        pending = session.execute(
            select(Comment.id, Comment.revision).where(Comment.status == "pending")
        ).all()
    decided = pipeline.score_comments(db, [tuple(p) for p in pending], KeywordScorer)
    assert len(decided) == len(pending)


def seed(client: Any, db: Database, site: Credentials, token: str) -> dict[str, Any]:
    erin = {"id": "u-erin", "name": NAME, "email": EMAIL, "ip": IP, "user_agent": "ErinBrowser"}
    bodies = [
        comment_body(id="erin-1", author=erin, content=f"I love the {TEXT} at the market."),
        comment_body(id="erin-2", author=erin, content=f"REJECT this {TEXT} nonsense, idiots."),
        comment_body(id="bob-1", author=BOB, parent_id="erin-1", content="Me too, Saturdays!"),
        comment_body(id="bob-2", author=BOB, content="The bike lanes look great."),
    ]
    for body in bodies:
        _post(client, site, body)
    _score_all(db)
    key = {"Authorization": f"Bearer {site.api_key}"}
    base = f"/v1/sites/{site.site_id}/comments"
    assert (
        client.post(f"{base}/erin-1/feedback", json={"label": "spam"}, headers=key).status_code
        == 200
    )
    for who, target, note in (
        ("u-bob", "erin-1", f"{NAME} posts this every day"),
        ("u-erin", "bob-2", f"reported by {NAME}"),
    ):
        r = client.post(
            f"{base}/{target}/reports",
            json={"reporter_id": who, "reason": "spam", "note": note},
            headers=key,
        )
        assert r.status_code == 202, r.json
    appeal = client.post(f"{base}/erin-2/appeals", json={"note": f"{TEXT} is art"}, headers=key)
    assert appeal.status_code == 201, appeal.json
    with db.session() as session:
        who = by_token(session, token)
        bob_1 = session.scalar(select(Comment.id).where(Comment.external_id == "bob-1"))
        erin_1 = session.scalar(select(Comment.id).where(Comment.external_id == "erin-1"))
        actions.act(session, who, erin_1, "spam", None, f"{NAME} again, from {IP}")
        actions.act(session, who, bob_1, "approve", None, "fine")
        for event in session.scalars(select(Event)):
            session.add(
                DeliveryAttempt(event_id=event.id, status_code=500, error="boom", duration_ms=3)
            )
    with db.session() as session:
        reply_events = [
            e.payload
            for e in session.scalars(select(Event).where(Event.type == "comment.reply_approved"))
        ]
    assert reply_events and all(p["data"]["parent_author"]["email"] == EMAIL for p in reply_events)
    return {"appeal_id": appeal.json["appeal_id"]}


def test_an_erased_author_is_nowhere(backend, redis_url) -> None:
    settings, db = backend
    with db.session() as session:
        site = create_site(
            session, name="Planet", callback_url="http://127.0.0.1:9/hook", allow_private=True
        )
    _, token = moderator(db, "mod@example.org", [site.site_id])
    app = create_app(settings)
    client = app.test_client()
    key = {"Authorization": f"Bearer {site.api_key}"}
    try:
        seed(client, db, site, token)
        # The searches find the author before the erasure, in the database and in Redis.
        before = database_hits(db)
        for table in ("comments", "authors", "feedback", "spam_reputation", "reports", "appeals"):
            assert any(h.startswith(f"{table}.") for h in before), (table, before)
        assert any(h.startswith("events.payload") for h in before)
        assert any(h.startswith("audit_log.note") for h in before)
        redis_before, _ = broker_hits(redis_url)
        assert any(IP in h for h in redis_before), redis_before

        r = client.delete(f"/v1/sites/{site.site_id}/authors/u-erin", headers=key)
        assert r.status_code == 202, r.json
        erasure = r.json
        assert erasure["status"] == "done"
        counts = erasure["counts"]
        assert counts["comments"] == 2 and counts["authors"] == 1
        assert counts["callbacks_anonymised"] >= 1 and counts["audit_anonymised"] >= 1
        assert counts["reports"] == 2 and counts["appeals"] == 1
        assert counts["reputation"] >= 2 and counts["redis_keys"] >= 2
        shown = client.get(
            f"/v1/sites/{site.site_id}/erasures/{erasure['erasure_id']}", headers=key
        )
        assert shown.status_code == 200 and shown.json["counts"] == counts

        assert database_hits(db) == []
        redis_after, keys = broker_hits(redis_url)
        assert redis_after == [] and keys > 0  # the broker still holds others' data
        for cid in ("erin-1", "erin-2"):
            gone = client.get(f"/v1/sites/{site.site_id}/comments/{cid}", headers=key)
            assert gone.status_code == 404 and gone.json["error"] == "not_found"
        # Bob is untouched; his reply's callback keeps the parent's id but not her person.
        bob = client.get(f"/v1/sites/{site.site_id}/comments/bob-1", headers=key)
        assert bob.status_code == 200 and bob.json["status"] == "approved"
        with db.session() as session:
            replies = session.scalars(select(Event).where(Event.type == "comment.reply_approved"))
            assert all(e.payload["data"]["parent_author"] is None for e in replies)
            trail = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        # The audit log still says what happened, by whom, to which comment: only notes went.
        spam = [e for e in trail if e.action == "spam"]
        assert spam and spam[0].actor == "mod@example.org" and spam[0].note is None
        assert spam[0].anonymised_at is not None and spam[0].after == {"status": "rejected"}
        assert trail[-1].action == "erase_author" and trail[-1].actor == "site"
        assert trail[-1].after["erasure_id"] == erasure["erasure_id"]
    finally:
        app.extensions["civil"]["db"].engine.dispose()


def test_erasure_errors_and_another_sites_key(backend) -> None:
    settings, db = backend
    with db.session() as session:
        site = create_site(session, name="A", callback_url=None, allow_private=True)
        other = create_site(session, name="B", callback_url=None, allow_private=True)
    app = create_app(settings)
    client = app.test_client()
    try:
        _post(client, site, comment_body(id="keep", author=BOB))
        url = f"/v1/sites/{site.site_id}/authors/u-bob"
        refused = client.delete(url, headers={"Authorization": f"Bearer {other.api_key}"})
        assert refused.status_code == 403 and set(refused.json) == {"error", "message", "details"}
        assert client.delete(url).status_code == 401
        key = {"Authorization": f"Bearer {site.api_key}"}
        assert client.get(f"/v1/sites/{site.site_id}/comments/keep", headers=key).status_code == 200
        # An author the site never sent: done, nothing removed.
        none = client.delete(f"/v1/sites/{site.site_id}/authors/u-nobody", headers=key)
        assert none.status_code == 202 and none.json["status"] == "done"
        assert sum(none.json["counts"].values()) == 0
        missing = client.get(f"/v1/sites/{site.site_id}/erasures/era_nope", headers=key)
        assert missing.status_code == 404 and missing.json["error"] == "not_found"
        # Another site cannot read this site's erasure.
        theirs = client.get(
            f"/v1/sites/{other.site_id}/erasures/{none.json['erasure_id']}",
            headers={"Authorization": f"Bearer {other.api_key}"},
        )
        assert theirs.status_code == 404
    finally:
        app.extensions["civil"]["db"].engine.dispose()


def test_the_audit_log_allows_only_the_anonymisation(backend) -> None:
    _, db = backend
    with db.session() as session:
        row = AuditEntry(site_id="s", actor="mod@example.org", action="reject", note="Erin said")
        session.add(row)
        session.flush()
        entry_id = row.id
    forbidden = [
        "UPDATE audit_log SET actor = 'someone else' WHERE id = :id",
        "UPDATE audit_log SET note = 'rewritten' WHERE id = :id",
        "UPDATE audit_log SET note = NULL WHERE id = :id",  # without the stamp
        "UPDATE audit_log SET note = NULL, anonymised_at = :now, action = 'approve' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ]
    for sql in forbidden:
        with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
            session.execute(text(sql), {"id": entry_id, "now": utcnow()})
    allowed = "UPDATE audit_log SET note = NULL, anonymised_at = :now WHERE id = :id"
    with db.session() as session:
        session.execute(text(allowed), {"id": entry_id, "now": utcnow()})
    # Once: an anonymised entry cannot be changed again, not even re-stamped.
    with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
        session.execute(text(allowed), {"id": entry_id, "now": utcnow()})
    with db.session() as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry.note is None and entry.actor == "mod@example.org"
        assert entry.action == "reject" and entry.anonymised_at is not None
