"""Moderator accounts: argon2 hashes, lock-out, tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civil.db import Database
from civil.errors import Unauthorized
from civil.models import Moderator
from civil.moderation.accounts import LockedOut, attempt_login, by_token, login, rotate_token
from civil.sites import Credentials
from tests.support.moderation import moderator


def test_password_is_stored_as_an_argon2_hash(db: Database, site: Credentials) -> None:
    mod_id, _ = moderator(db, "m@example.org", [site.site_id], password="a long secret 9")
    with db.session() as session:
        row = session.get(Moderator, mod_id)
        assert row is not None and row.password_hash.startswith("$argon2")
        assert "a long secret 9" not in row.password_hash
    assert attempt_login(db, "M@Example.org ", "a long secret 9").id == mod_id


def test_five_failures_lock_out_even_the_right_password(db: Database, site: Credentials) -> None:
    moderator(db, "m@example.org", [site.site_id], password="a long secret 9")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            attempt_login(db, "m@example.org", "guess")
    with pytest.raises(LockedOut):
        attempt_login(db, "m@example.org", "a long secret 9")
    with pytest.raises(Unauthorized):
        attempt_login(db, "nobody@example.org", "a long secret 9")


def test_tokens_authenticate_and_rotate(db: Database, site: Credentials) -> None:
    mod_id, token = moderator(db, "m@example.org", [site.site_id])
    with db.session() as session:
        assert by_token(session, token).id == mod_id
        for wrong in (None, "", "civmod_nope", token[:-1] + "x", "civ_sitekey"):
            with pytest.raises(Unauthorized):
                by_token(session, wrong)
        fresh = rotate_token(session, mod_id)
    with db.session() as session:
        assert by_token(session, fresh).id == mod_id
        with pytest.raises(Unauthorized):
            by_token(session, token)


def test_concurrent_failures_all_count_towards_the_lock_out(
    db: Database, site: Credentials
) -> None:
    # A request that loaded the account before four other failures were committed must not
    # write back its stale count: every failure counts, however the requests interleave.
    moderator(db, "m@example.org", [site.site_id], password="a long secret 9")
    with db.session() as slow:
        # Held, as a request verifying a password holds the row it read before hashing.
        loaded = slow.scalar(select(Moderator).where(Moderator.email == "m@example.org"))
        assert loaded is not None and loaded.failed_logins == 0
        for _ in range(4):
            with pytest.raises(Unauthorized):
                attempt_login(db, "m@example.org", "guess")
        with pytest.raises(Unauthorized):
            login(slow, "m@example.org", "guess")
    with pytest.raises(LockedOut):
        attempt_login(db, "m@example.org", "a long secret 9")
