"""Tell a site's moderators when the held queue grows, waits too long, or callbacks die.

Run by the beat schedule (`civil.notify_moderators`). Each kind of notice goes out at most
once per window per site; the newest `notifications` row of a kind is that window. A notice
goes to a Slack-compatible incoming webhook (`{"text": …}`, which Slack, Mattermost,
Rocket.Chat and Discord's `/slack` endpoints accept) and/or by e-mail over SMTP.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import requests
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civil.db import Database
from civil.delivery.netguard import check_callback_url
from civil.errors import InvalidInput
from civil.models import Comment, Event, Notification, Site, utcnow
from civil.schema import validation_errors
from civil.schema.admin import NotifyIn
from civil.settings import Settings

log = logging.getLogger("civil.notify")
HELD_QUEUE, OLDEST_HELD, DEAD_LETTERS = "held_queue", "oldest_held", "dead_letters"


def validate_notify(data: dict[str, Any], *, allow_private: bool = True) -> dict[str, Any]:
    """Check a site's notification settings; return them without unset fields."""
    try:
        parsed = NotifyIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid notification settings", {"errors": validation_errors(exc)}
        ) from exc
    if parsed.webhook_url:
        check_callback_url(parsed.webhook_url, allow_private=allow_private)
    for address in parsed.emails or []:
        if "@" not in address or any(c in address for c in "\r\n,;<> "):
            raise InvalidInput("not an e-mail address", {"field": "emails", "value": address})
    return parsed.model_dump(exclude_none=True)


@dataclass(frozen=True)
class Rules:
    """A site's effective notification settings: the deployment's defaults, then its own."""

    enabled: bool
    webhook_url: str
    emails: tuple[str, ...]
    held_over: int
    oldest_minutes: int
    window_minutes: int

    @classmethod
    def of(cls, site: Site, settings: Settings) -> Rules:
        own = site.notify or {}
        default_emails = [e.strip() for e in settings.notify_emails.split(",") if e.strip()]
        return cls(
            enabled=bool(own.get("enabled", True)),
            webhook_url=own.get("webhook_url", settings.notify_webhook_url),
            emails=tuple(own.get("emails", default_emails)),
            held_over=int(own.get("held_over", settings.notify_held_over)),
            oldest_minutes=int(own.get("oldest_minutes", settings.notify_oldest_minutes)),
            window_minutes=int(own.get("window_minutes", settings.notify_window_minutes)),
        )


@dataclass
class Notice:
    site_id: str
    site_name: str
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(
            [f"Civil: {self.site_name} ({self.site_id}) needs moderators"]
            + [f"- {line}" for line in self.lines]
            + self.links
        )


def _last_sent(session: Session, site_id: str, kind: str) -> datetime | None:
    return session.scalar(
        select(func.max(Notification.sent_at)).where(
            Notification.site_id == site_id, Notification.kind == kind
        )
    )


def _quiet(last: datetime | None, rules: Rules, now: datetime) -> bool:
    return last is not None and last > now - timedelta(minutes=rules.window_minutes)


def _workspace(settings: Settings, path: str, **query: str) -> str:
    base = settings.public_url.rstrip("/") + "/moderate" + path
    return base + ("?" + urlencode(query) if query else "")


def check_site(session: Session, site: Site, settings: Settings, now: datetime) -> Notice | None:
    """What is worth telling this site's moderators now (None: nothing, or still quiet)."""
    rules = Rules.of(site, settings)
    if not rules.enabled:
        return None
    notice = Notice(site.id, site.name)
    held = select(Comment).where(Comment.site_id == site.id, Comment.status == "held")
    count = session.scalar(select(func.count()).select_from(held.subquery())) or 0
    if count > rules.held_over and not _quiet(_last_sent(session, site.id, HELD_QUEUE), rules, now):
        notice.kinds[HELD_QUEUE] = {"held": count, "limit": rules.held_over}
        notice.lines.append(f"{count} comments are held for review (more than {rules.held_over})")
    oldest = session.scalar(
        select(func.min(func.coalesce(Comment.decided_at, Comment.received_at))).where(
            Comment.site_id == site.id, Comment.status == "held"
        )
    )
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        waited = (now - oldest).total_seconds() / 60
        last = _last_sent(session, site.id, OLDEST_HELD)
        if waited > rules.oldest_minutes and not _quiet(last, rules, now):
            notice.kinds[OLDEST_HELD] = {
                "waited_minutes": int(waited),
                "limit_minutes": rules.oldest_minutes,
            }
            notice.lines.append(
                f"the oldest held comment has waited {int(waited)} minutes "
                f"(more than {rules.oldest_minutes})"
            )
    if notice.kinds:
        notice.links.append(_workspace(settings, "", view="held", site_id=site.id))
    last_dead = _last_sent(session, site.id, DEAD_LETTERS)
    if not _quiet(last_dead, rules, now):
        since = last_dead or now - timedelta(minutes=rules.window_minutes)
        dead = (
            session.scalar(
                select(func.count()).where(
                    Event.site_id == site.id, Event.status == "dead", Event.dead_at > since
                )
            )
            or 0
        )
        if dead:
            notice.kinds[DEAD_LETTERS] = {"dead": dead, "since": since.isoformat()}
            notice.lines.append(f"{dead} callbacks were dead-lettered (replay them in ops)")
            notice.links.append(_workspace(settings, "/ops"))
    return notice if notice.kinds else None


def send_webhook(url: str, text: str, settings: Settings) -> None:
    check_callback_url(url, allow_private=settings.allow_private_callbacks)
    response = requests.post(
        url, json={"text": text}, timeout=settings.delivery_timeout_seconds, allow_redirects=False
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"webhook answered {response.status_code}")


def send_email(to: tuple[str, ...], subject: str, text: str, settings: Settings) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (CIVIL_SMTP_HOST)")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.smtp_from, ", ".join(to)
    message.set_content(text)
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def deliver(notice: Notice, rules: Rules, settings: Settings) -> dict[str, str]:
    """Send on every configured channel; channel -> "sent" or why it failed."""
    outcome: dict[str, str] = {}
    if rules.webhook_url:
        try:
            send_webhook(rules.webhook_url, notice.text, settings)
            outcome["webhook"] = "sent"
        except Exception as exc:  # one channel failing must not stop the other
            outcome["webhook"] = f"{type(exc).__name__}: {exc}"[:300]
    if rules.emails:
        subject = f"[Civil] {notice.site_name}: " + ", ".join(
            k.replace("_", " ") for k in notice.kinds
        )
        try:
            send_email(rules.emails, subject, notice.text, settings)
            outcome["email"] = "sent"
        except Exception as exc:
            outcome["email"] = f"{type(exc).__name__}: {exc}"[:300]
    return outcome


def notify_moderators(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Check every site, send what is due; return how many notices went out."""
    now = now or utcnow()
    sent = 0
    with db.session() as session:
        site_ids = list(session.scalars(select(Site.id).order_by(Site.id)))
    for site_id in site_ids:
        with db.session() as session:
            site = session.get(Site, site_id)
            if site is None:
                continue
            rules = Rules.of(site, settings)
            if not rules.webhook_url and not rules.emails:
                continue
            notice = check_site(session, site, settings, now)
        if notice is None:
            continue
        outcome = deliver(notice, rules, settings)
        if "sent" not in outcome.values():
            # Nothing got through: no window starts, the next run tries again.
            log.warning("notice not sent", extra={"site_id": site_id, "channels": outcome})
            continue
        with db.session() as session:
            session.add_all(
                Notification(site_id=site_id, kind=k, detail=d, channels=outcome, sent_at=now)
                for k, d in notice.kinds.items()
            )
        log.info("notice sent", extra={"site_id": site_id, "kinds": sorted(notice.kinds)})
        sent += 1
    return sent
