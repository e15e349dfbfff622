"""Moderator accounts: argon2 password hashes, lock-out after failed logins, API tokens."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from civil.db import Database
from civil.errors import CivilError, Conflict, InvalidInput, NotFound, Unauthorized
from civil.models import Moderator, ModeratorSite, Site, utcnow

HASHER = PasswordHasher()
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_CHARS = 10
TOKEN_PREFIX_LEN = 12


@cache
def _dummy_hash() -> str:
    # Verified when the email is unknown, so a wrong email costs as long as a wrong password.
    # Built on first use: workers import this module and never log anyone in.
    return HASHER.hash(secrets.token_hex(16))


class LockedOut(CivilError):
    status, code = 429, "locked_out"


@dataclass(frozen=True)
class Identity:
    """Who is acting, and on which sites (None: an admin, every site)."""

    id: int
    email: str
    is_admin: bool
    site_ids: frozenset[str] | None = field(default=None)
    session_generation: int = 0

    def may_see(self, site_id: str) -> bool:
        return self.site_ids is None or site_id in self.site_ids


def new_token() -> str:
    return "civmod_" + secrets.token_urlsafe(32)


def _hash_token(token: str) -> str:
    # Tokens carry 256 random bits: a fast hash is enough, as for site API keys.
    return hashlib.sha256(token.encode()).hexdigest()


def _identity(session: Session, moderator: Moderator) -> Identity:
    generation = moderator.session_generation or 0
    if moderator.is_admin:
        return Identity(moderator.id, moderator.email, True, None, generation)
    sites = session.scalars(
        select(ModeratorSite.site_id).where(ModeratorSite.moderator_id == moderator.id)
    )
    return Identity(moderator.id, moderator.email, False, frozenset(sites), generation)


def create_moderator(
    session: Session, email: str, password: str, site_ids: list[str], admin: bool = False
) -> tuple[Moderator, str]:
    """Create an account and return it with its API token (shown only now)."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput("email is not an address", {"email": email})
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    if not admin and not site_ids:
        raise InvalidInput("a moderator needs at least one --site (or --admin)")
    _check_sites(session, site_ids)
    if session.scalar(select(Moderator.id).where(Moderator.email == email)) is not None:
        raise Conflict("a moderator with this email exists", {"email": email})
    token = new_token()
    moderator = Moderator(
        email=email,
        password_hash=HASHER.hash(password),
        is_admin=admin,
        token_prefix=token[:TOKEN_PREFIX_LEN],
        token_hash=_hash_token(token),
        failed_logins=0,
    )
    session.add(moderator)
    session.flush()
    session.add_all(ModeratorSite(moderator_id=moderator.id, site_id=s) for s in set(site_ids))
    return moderator, token


def get_moderator(session: Session, moderator_id: int) -> Moderator:
    moderator = session.get(Moderator, moderator_id)
    if moderator is None:
        raise NotFound("no such moderator", {"id": moderator_id})
    return moderator


def find_moderator(session: Session, email: str) -> Moderator:
    """The account with this e-mail (case-insensitive), or 404."""
    moderator = session.scalar(select(Moderator).where(Moderator.email == email.strip().lower()))
    if moderator is None:
        raise NotFound("no such moderator", {"email": email})
    return moderator


def _check_sites(session: Session, site_ids: list[str]) -> None:
    for site_id in site_ids:
        if session.get(Site, site_id) is None:
            raise NotFound("no such site", {"site_id": site_id})


def set_disabled(session: Session, moderator_id: int, disabled: bool) -> Moderator:
    """Disable (no login, no token, every session ended) or re-enable an account."""
    moderator = get_moderator(session, moderator_id)
    if disabled and moderator.disabled_at is None:
        moderator.disabled_at = utcnow()
        moderator.session_generation = (moderator.session_generation or 0) + 1
    elif not disabled:
        moderator.disabled_at = None
    return moderator


def assign_sites(session: Session, moderator_id: int, site_ids: list[str]) -> Moderator:
    """Replace the sites a moderator reviews (an admin sees every site regardless)."""
    moderator = get_moderator(session, moderator_id)
    _check_sites(session, site_ids)
    if not moderator.is_admin and not site_ids:
        raise InvalidInput("a moderator needs at least one site (or admin)")
    session.execute(delete(ModeratorSite).where(ModeratorSite.moderator_id == moderator_id))
    session.add_all(ModeratorSite(moderator_id=moderator_id, site_id=s) for s in set(site_ids))
    session.flush()
    return moderator


def reset_password(session: Session, moderator_id: int, password: str) -> Moderator:
    """Set a new password; the lock-out is lifted and every session cookie ends."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    moderator = get_moderator(session, moderator_id)
    moderator.password_hash = HASHER.hash(password)
    moderator.failed_logins, moderator.locked_until = 0, None
    moderator.session_generation = (moderator.session_generation or 0) + 1
    return moderator


def delete_moderator(session: Session, moderator_id: int) -> None:
    """Remove an account (its claims and site assignments go with it; the audit log stays)."""
    session.delete(get_moderator(session, moderator_id))
    session.flush()


def moderator_view(session: Session, moderator: Moderator) -> dict[str, Any]:
    """One account as the admin API and the CLI show it (never hashes or tokens)."""
    ident = _identity(session, moderator)
    return {
        "id": moderator.id,
        "email": moderator.email,
        "admin": moderator.is_admin,
        "sites": sorted(ident.site_ids) if ident.site_ids is not None else "all",
        "disabled": moderator.disabled_at is not None,
        "last_login_at": moderator.last_login_at,
    }


def rotate_token(session: Session, moderator_id: int) -> str:
    """Issue a new API token; the old one stops working."""
    moderator = get_moderator(session, moderator_id)
    token = new_token()
    moderator.token_prefix, moderator.token_hash = token[:TOKEN_PREFIX_LEN], _hash_token(token)
    return token


def _count_failure(session: Session, moderator_id: int, now: datetime) -> None:
    # Incremented in the database, not on the row read before hashing: concurrent failed
    # attempts each count, so a burst of parallel guesses cannot outrun the lock-out.
    failed = session.scalar(
        update(Moderator)
        .where(Moderator.id == moderator_id)
        .values(failed_logins=Moderator.failed_logins + 1)
        .returning(Moderator.failed_logins)
        .execution_options(synchronize_session=False)
    )
    if failed is not None and failed >= MAX_FAILED_LOGINS:
        session.execute(
            update(Moderator)
            .where(Moderator.id == moderator_id)
            .values(locked_until=now + LOCKOUT, failed_logins=0)
            .execution_options(synchronize_session=False)
        )


def login(session: Session, email: str, password: str) -> Identity:
    """Check a password; count failures and lock the account after too many (caller commits)."""
    now = utcnow()
    moderator = session.scalar(select(Moderator).where(Moderator.email == email.strip().lower()))
    if moderator is None:
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy_hash(), password)
        raise Unauthorized("wrong email or password")
    if moderator.locked_until is not None and moderator.locked_until > now:
        raise LockedOut(
            "too many failed logins; try again later",
            {"locked_until": moderator.locked_until.isoformat()},
        )
    try:
        HASHER.verify(moderator.password_hash, password)
    except (VerificationError, InvalidHashError):
        _count_failure(session, moderator.id, now)
        raise Unauthorized("wrong email or password") from None
    if moderator.disabled_at is not None:
        # Said only to whoever knows the password: nobody else learns the account exists.
        raise Unauthorized("this account is disabled", code="account_disabled")
    if HASHER.check_needs_rehash(moderator.password_hash):
        moderator.password_hash = HASHER.hash(password)
    moderator.failed_logins, moderator.locked_until, moderator.last_login_at = 0, None, now
    return _identity(session, moderator)


def attempt_login(db: Database, email: str, password: str) -> Identity:
    """Log in; a failed attempt is committed too, so the lock-out counter really counts."""
    with db.session() as session:
        try:
            return login(session, email, password)
        except Unauthorized as exc:
            failure = exc
    raise failure


def by_token(session: Session, token: str | None) -> Identity:
    """The moderator owning an API token, or 401."""
    if not token or not token.startswith("civmod_"):
        raise Unauthorized("missing or wrong moderator token")
    candidates = session.scalars(
        select(Moderator).where(Moderator.token_prefix == token[:TOKEN_PREFIX_LEN])
    )
    digest = _hash_token(token)
    for moderator in candidates:
        if moderator.token_hash and hmac.compare_digest(moderator.token_hash, digest):
            if moderator.disabled_at is not None:
                raise Unauthorized("this moderator account is disabled", code="account_disabled")
            return _identity(session, moderator)
    raise Unauthorized("missing or wrong moderator token")


def by_id(session: Session, moderator_id: int) -> Identity | None:
    """The moderator behind a session cookie (None when the account is gone)."""
    moderator = session.get(Moderator, moderator_id)
    if moderator is None or moderator.disabled_at is not None:
        return None
    return _identity(session, moderator)


def end_sessions(db: Database, moderator_id: int) -> None:
    """Invalidate every session cookie this moderator holds (logout)."""
    with db.session() as session:
        session.execute(
            update(Moderator)
            .where(Moderator.id == moderator_id)
            .values(session_generation=Moderator.session_generation + 1)
        )
        session.commit()


def list_moderators(session: Session) -> list[dict[str, Any]]:
    """Every account with its sites (never hashes or tokens)."""
    return [
        moderator_view(session, m)
        for m in session.scalars(select(Moderator).order_by(Moderator.email))
    ]
