"""What an administrator does to sites and moderator accounts, each step audited.

The admin API (`/v1/admin/…`) and the CLI (`civil sites`, `civil moderators`) both call these,
so a change is recorded the same way whichever door it came through. Each function changes
and audits in the caller's session: one commit holds both, or neither.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from civil import coral, sites
from civil.models import AuditEntry, Moderator
from civil.moderation import accounts
from civil.notify import validate_notify

# The audit log's site_id for actions on accounts rather than on one site.
NO_SITE = ""


def record(
    session: Session,
    actor: str,
    action: str,
    site_id: str = NO_SITE,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one admin action to the audit log (never a key, secret, token or password)."""
    session.add(
        AuditEntry(
            site_id=site_id,
            actor=actor,
            action=action,
            before=before or {},
            after=after or {},
        )
    )
    session.flush()


# --- sites --------------------------------------------------------------------------------


def create_site(
    session: Session,
    actor: str,
    *,
    name: str,
    callback_url: str | None,
    policy: dict[str, Any] | None = None,
    notify: dict[str, Any] | None = None,
    allow_private: bool = False,
) -> sites.Credentials:
    creds = sites.create_site(
        session,
        name=name,
        callback_url=callback_url,
        policy=policy,
        allow_private=allow_private,
        actor=actor,
    )
    site = sites.get_site(session, creds.site_id)
    if notify is not None:
        site.notify = validate_notify(notify, allow_private=allow_private)
    record(session, actor, "site.create", site.id, after=_site_state(site))
    return creds


def _site_state(site: Any) -> dict[str, Any]:
    return {
        "name": site.name,
        "callback_url": site.callback_url,
        "policy": site.policy,
        "notify": site.notify,
    }


def update_site(
    session: Session,
    actor: str,
    site_id: str,
    *,
    callback_url: str | None = None,
    policy: dict[str, Any] | None = None,
    notify: dict[str, Any] | None = None,
    allow_private: bool = False,
    source: str = "api",
    why: str | None = None,
) -> Any:
    site = sites.get_site(session, site_id)
    before = _site_state(site)
    # A policy change is also a new policy version (who, when, why, the diff).
    site = sites.update_site(
        session,
        site_id,
        callback_url=callback_url,
        policy=policy,
        allow_private=allow_private,
        actor=actor,
        source=source,
        why=why,
    )
    if notify is not None:
        site.notify = validate_notify(
            {**(site.notify or {}), **notify}, allow_private=allow_private
        )
    record(session, actor, "site.update", site_id, before=before, after=_site_state(site))
    return site


def rotate_key(session: Session, actor: str, site_id: str) -> str:
    key = sites.rotate_key(session, site_id)
    record(session, actor, "site.rotate_key", site_id, after={"api_key_prefix": key[:12]})
    return key


def rotate_secret(session: Session, actor: str, site_id: str) -> str:
    secret = sites.rotate_secret(session, site_id)
    record(session, actor, "site.rotate_secret", site_id)
    return secret


def delete_site(session: Session, actor: str, site_id: str) -> None:
    before = _site_state(sites.get_site(session, site_id))
    sites.delete_site(session, site_id)
    record(session, actor, "site.delete", site_id, before=before)


def set_coral_secret(
    session: Session,
    actor: str,
    site_id: str,
    secret: str,
    grace_seconds: int,
    timeout_ms: int | None = None,
) -> dict[str, Any]:
    site = coral.set_secret(session, site_id, secret, grace_seconds, timeout_ms)
    view = coral.config_view(site)
    record(
        session,
        actor,
        "site.coral_secret",
        site_id,
        after={"kids": [s["kid"] for s in view["secrets"]], "timeout_ms": view["timeout_ms"]},
    )
    return view


def clear_coral(session: Session, actor: str, site_id: str) -> None:
    coral.clear(session, site_id)
    record(session, actor, "site.coral_clear", site_id)


# --- moderators ---------------------------------------------------------------------------


def create_moderator(
    session: Session,
    actor: str,
    email: str,
    password: str,
    site_ids: list[str],
    admin: bool = False,
) -> tuple[Moderator, str]:
    moderator, token = accounts.create_moderator(session, email, password, site_ids, admin)
    record(session, actor, "moderator.create", after=accounts.moderator_view(session, moderator))
    return moderator, token


def _moderator_change(
    session: Session, actor: str, action: str, moderator_id: int, change: Any
) -> Moderator:
    moderator = accounts.get_moderator(session, moderator_id)
    before = accounts.moderator_view(session, moderator)
    change()
    session.flush()
    after = accounts.moderator_view(session, moderator)
    record(session, actor, action, before=_jsonable(before), after=_jsonable(after))
    return moderator


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    last = view.get("last_login_at")
    return {**view, "last_login_at": last.isoformat() if last else None}


def set_disabled(session: Session, actor: str, moderator_id: int, disabled: bool) -> Moderator:
    action = "moderator.disable" if disabled else "moderator.enable"
    return _moderator_change(
        session,
        actor,
        action,
        moderator_id,
        lambda: accounts.set_disabled(session, moderator_id, disabled),
    )


def assign_sites(session: Session, actor: str, moderator_id: int, site_ids: list[str]) -> Moderator:
    return _moderator_change(
        session,
        actor,
        "moderator.assign_sites",
        moderator_id,
        lambda: accounts.assign_sites(session, moderator_id, site_ids),
    )


def reset_password(session: Session, actor: str, moderator_id: int, password: str) -> Moderator:
    return _moderator_change(
        session,
        actor,
        "moderator.reset_password",
        moderator_id,
        lambda: accounts.reset_password(session, moderator_id, password),
    )


def rotate_token(session: Session, actor: str, moderator_id: int) -> str:
    tokens: list[str] = []
    _moderator_change(
        session,
        actor,
        "moderator.rotate_token",
        moderator_id,
        lambda: tokens.append(accounts.rotate_token(session, moderator_id)),
    )
    return tokens[0]


def delete_moderator(session: Session, actor: str, moderator_id: int) -> None:
    before = _jsonable(
        accounts.moderator_view(session, accounts.get_moderator(session, moderator_id))
    )
    accounts.delete_moderator(session, moderator_id)
    record(session, actor, "moderator.delete", before=before)
