"""Sites: creation, keys, signing secrets, policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.delivery.netguard import check_callback_url
from civil.errors import NotFound, Unauthorized
from civil.models import Site
from civil.tuning.versions import change_policy, record_version, validate_policy

KEY_PREFIX_LEN = 12


def new_api_key() -> str:
    return "civ_" + secrets.token_urlsafe(32)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def hash_key(key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Credentials:
    site_id: str
    api_key: str
    signing_secret: str

    def to_dict(self) -> dict[str, str]:
        return {
            "site_id": self.site_id,
            "api_key": self.api_key,
            "signing_secret": self.signing_secret,
        }


def create_site(
    session: Session,
    *,
    name: str,
    callback_url: str | None,
    policy: dict[str, Any] | None = None,
    allow_private: bool = False,
    actor: str = "system",
) -> Credentials:
    """Create a site and return its credentials (the API key is shown only now)."""
    if callback_url:
        check_callback_url(callback_url, allow_private=allow_private)
    key = new_api_key()
    site = Site(
        id="site_" + secrets.token_hex(8),
        name=name,
        callback_url=callback_url,
        api_key_prefix=key[:KEY_PREFIX_LEN],
        api_key_hash=hash_key(key),
        signing_secret=new_signing_secret(),
        policy={},
    )
    session.add(site)
    session.flush()
    record_version(session, site, validate_policy(policy), actor=actor, source="create")
    return Credentials(site.id, key, site.signing_secret)


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("no such site", {"site_id": site_id})
    return site


def authenticate(session: Session, api_key: str | None) -> Site:
    """The site owning this API key, or Unauthorized."""
    if not api_key:
        raise Unauthorized("missing API key: send Authorization: Bearer <api_key>")
    candidates = session.scalars(
        select(Site).where(Site.api_key_prefix == api_key[:KEY_PREFIX_LEN])
    ).all()
    digest = hash_key(api_key)
    for site in candidates:
        if hmac.compare_digest(site.api_key_hash, digest):
            return site
    raise Unauthorized("invalid API key")


def site_summary(site: Site) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "name": site.name,
        "callback_url": site.callback_url,
        "callback_disabled": site.callback_disabled_at is not None,
        "created_at": site.created_at.isoformat(),
        "policy": site.policy,
        "notify": site.notify,
        "coral": bool((site.coral or {}).get("secrets")),
        "policy_version": site.policy_version,
    }


def list_sites(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.created_at)))


def rotate_secret(session: Session, site_id: str) -> str:
    site = get_site(session, site_id)
    site.signing_secret = new_signing_secret()
    return site.signing_secret


def rotate_key(session: Session, site_id: str) -> str:
    site = get_site(session, site_id)
    key = new_api_key()
    site.api_key_prefix, site.api_key_hash = key[:KEY_PREFIX_LEN], hash_key(key)
    return key


def update_site(
    session: Session,
    site_id: str,
    *,
    callback_url: str | None = None,
    policy: dict[str, Any] | None = None,
    allow_private: bool = False,
    actor: str = "system",
    source: str = "cli",
    why: str | None = None,
) -> Site:
    """Change a site's callback URL (re-enabling it) or merge policy changes (a new version)."""
    site = get_site(session, site_id)
    if callback_url is not None:
        check_callback_url(callback_url, allow_private=allow_private)
        site.callback_url = callback_url
        site.callback_disabled_at = None
        site.callback_disabled_reason = None
    if policy is not None:
        change_policy(session, site, policy, actor=actor, source=source, why=why)
    return site


def delete_site(session: Session, site_id: str) -> None:
    session.delete(get_site(session, site_id))


__all__ = ["change_policy", "validate_policy"]
