"""Database tables. Outcomes live in rows; the queue only carries ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
PK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType,
        datetime: UTCDateTime(),
    }


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_prefix: Mapped[str] = mapped_column(String(16), index=True)
    api_key_hash: Mapped[str] = mapped_column(String(64))
    signing_secret: Mapped[str] = mapped_column(String(100))
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    callback_disabled_at: Mapped[datetime | None]
    callback_disabled_reason: Mapped[str | None] = mapped_column(String(200))
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Coral Talk's External Moderation Phase: its signing secrets (a rotated one keeps
    # working until its `inactive_at`) and the phase's timeout; None: not configured.
    coral: Mapped[dict[str, Any] | None]
    # Who is told when the held queue grows or callbacks die (civil/notify.py); None: the
    # deployment's defaults.
    notify: Mapped[dict[str, Any] | None]
    # The number of the live policy version (a row of policy_versions).
    policy_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A candidate policy (and model) running in shadow: {id, policy, model, actor, why, at}.
    candidate: Mapped[dict[str, Any] | None]
    # Set when a delivery pass message (`civil.deliver_site`) is published for the site, cleared
    # when a worker starts the pass: while set, no second pass message is published.
    delivery_queued_at: Mapped[datetime | None]


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str | None] = mapped_column(Text)
    # The section the site files the article under (per-section policy overrides).
    section: Mapped[str | None] = mapped_column(String(200))
    # While in the future, a burst of comments has switched the article to pre-moderation.
    surge_until: Mapped[datetime | None]


class Author(Base):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id"),
        Index("ix_comments_status_enqueued", "status", "enqueued_at"),
        Index("ix_comments_site_hash", "site_id", "content_hash"),
        Index("ix_comments_site_author_received", "site_id", "author_id", "received_at"),
        Index("ix_comments_site_ip_received", "site_id", "ip", "received_at"),
        # The moderator queue pages by (received_at, id) or (decided_at, id) within a status.
        Index("ix_comments_queue", "status", "received_at", "id"),
        Index("ix_comments_site_queue", "site_id", "status", "received_at", "id"),
        Index("ix_comments_site_decided", "site_id", "status", "decided_at", "id"),
        Index("ix_comments_decided", "status", "decided_at", "id"),
        Index("ix_comments_author_queue", "author_id", "status", "received_at", "id"),
        # The burst guard counts an article's recent comments.
        Index("ix_comments_article_received", "article_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(20), default="text/plain")
    content_hash: Mapped[str] = mapped_column(String(64))
    inline_quote: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    honeypot: Mapped[str | None] = mapped_column(String(1000))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by every edit: a task carries the revision it was queued for and does nothing
    # when the comment has moved on, so an old task can never overwrite a newer decision.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decision: Mapped[dict[str, Any] | None]
    enqueued_at: Mapped[datetime | None]
    score_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker that takes this comment into a batch leases it so others skip it meanwhile.
    claimed_until: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    # Reason families of the decision (",toxic,spam,"): the queue filters on it with LIKE
    # instead of searching the JSON decision, the same way on PostgreSQL and SQLite.
    reason_tags: Mapped[str | None] = mapped_column(String(200))
    # The site asked Civil not to keep the text and the author's personal fields: dropped as
    # soon as the decision is recorded (civil.privacy.scrub).
    do_not_store: Mapped[bool] = mapped_column(default=False, server_default=false())

    article: Mapped[Article | None] = relationship(lazy="joined")
    author: Mapped[Author | None] = relationship(lazy="joined")


class Event(Base):
    """One callback event; its id is the stable `webhook-id`."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_status_next", "status", "next_attempt_at"),
        # A site's delivery pass claims its waiting events oldest first.
        Index("ix_events_site_waiting", "site_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    # pending -> delivered | retrying -> ... -> dead
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    # Set when the event is made (or replayed) and its site's delivery pass is woken, cleared
    # when a worker's pass (or a `civil.deliver_event` message) claims it: while set, a message
    # that will take the event is (or was) in the broker.
    enqueued_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Start of the current retry window (creation, or the last replay).
    retry_since: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class WorkerHeartbeat(Base):
    """Liveness of worker processes, written by the workers themselves (any broker)."""

    __tablename__ = "worker_heartbeats"

    hostname: Mapped[str] = mapped_column(String(300), primary_key=True)
    queues: Mapped[str] = mapped_column(String(300))
    models: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Moderator(Base):
    """A person who reviews comments; sees only their sites unless an admin."""

    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(default=False)
    token_prefix: Mapped[str | None] = mapped_column(String(16), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Session cookies carry this number; logging out bumps it, so every copy of an earlier
    # cookie (a stolen one included) stops working although cookies are only signed.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A disabled account can neither log in nor use its token; re-enabling restores both.
    disabled_at: Mapped[datetime | None]


class ModeratorSite(Base):
    __tablename__ = "moderator_sites"

    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )


class AuthorStanding(Base):
    """A moderator's verdict on an author: trusted, premoderated or banned."""

    __tablename__ = "author_standings"

    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    standing: Mapped[str] = mapped_column(String(16))  # trusted | premoderated | banned
    actor: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewClaim(Base):
    """A moderator holding a comment for a few minutes so nobody else reviews it meanwhile."""

    __tablename__ = "review_claims"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id", ondelete="CASCADE"))
    moderator_email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """One moderator action; rows are only ever inserted (who, what, before -> after, why)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_site_created", "site_id", "created_at"),
        Index("ix_audit_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(40))
    # Plain ids, no foreign keys: the trail outlives the rows it describes.
    comment_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    comment_external_id: Mapped[str | None] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bulk_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an author's erasure, with the note cleared: the only update the database allows.
    anonymised_at: Mapped[datetime | None]

    @classmethod
    def for_comment(cls, comment: Comment, actor: str, action: str, **fields: Any) -> AuditEntry:
        """An entry about ``comment``: its site, ids and author copied, the rest from ``fields``."""
        return cls(
            site_id=comment.site_id,
            comment_id=comment.id,
            comment_external_id=comment.external_id,
            author_id=comment.author_id,
            actor=actor,
            action=action,
            **fields,
        )


class Feedback(Base):
    """A label someone with authority gave a comment or a text: the models' training signal.

    Written by a site's feedback call (spam/ham), a moderator's action, and the Akismet and
    Perspective compatible endpoints. Rows are per site and never read across sites.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_site_kind_created", "site_id", "kind", "created_at"),
        Index("ix_feedback_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # Null when the label is about a text Civil never stored (e.g. Perspective suggestscore).
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # spam | toxicity
    # spam: "spam" | "ham"; toxicity: a label name, with value 0..1 in `value`.
    label: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(20))  # site | moderator | akismet | perspective
    actor: Mapped[str | None] = mapped_column(String(300))
    # A snapshot of what was labelled, so retraining works after the comment is gone.
    text: Mapped[str] = mapped_column(Text, default="")
    author_email: Mapped[str | None] = mapped_column(String(500))
    author_url: Mapped[str | None] = mapped_column(String(2000))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpamReputation(Base):
    """Spam and ham labels a site gave, counted per domain, e-mail and IP (from `feedback`).

    Kept up to date by ``civil.feedback.record_spam_label`` in the label's own transaction,
    so the next comment scored sees it; rows are per site and never read across sites.
    """

    __tablename__ = "spam_reputation"
    __table_args__ = (UniqueConstraint("site_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # link_domain | author_url_domain | email ...
    value: Mapped[str] = mapped_column(String(500))
    spam: Mapped[int] = mapped_column(Integer, default=0)
    ham: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SpamFingerprint(Base):
    """A MinHash signature of a comment's text: a recent post, or a text a site labelled.

    Posts (label NULL) form a rolling window across all sites for near-duplicate counts;
    labelled rows are only ever matched against comments of their own site.
    """

    __tablename__ = "spam_fingerprints"
    __table_args__ = (
        Index("ix_spam_fingerprints_comment", "comment_id", "label"),
        Index("ix_spam_fingerprints_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    article_id: Mapped[int | None] = mapped_column(PK)
    label: Mapped[str | None] = mapped_column(String(8))  # None | spam | ham
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpamBand(Base):
    """One LSH band hash of a fingerprint: texts sharing a band are near-duplicate candidates."""

    __tablename__ = "spam_bands"
    # (band_key, fingerprint_id): a lookup reads the newest rows of a bucket, never all of it.
    __table_args__ = (Index("ix_spam_bands_key_fp", "band_key", "fingerprint_id"),)

    fingerprint_id: Mapped[int] = mapped_column(
        ForeignKey("spam_fingerprints.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    band_key: Mapped[int] = mapped_column(BigInteger)


class Report(Base):
    """A reader flagging a comment: one row per (comment, reporter); never a spam label.

    ``outcome`` is set when a moderator settles the comment (upheld: they rejected it;
    overruled: they approved it); unsettled reports count towards the auto-hold.
    """

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_id"),
        Index("ix_reports_site_reporter", "site_id", "reporter_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reporter_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(default=1.0)
    outcome: Mapped[str | None] = mapped_column(String(12))  # None | upheld | overruled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]


class Appeal(Base):
    """An author asking for another look at a held or rejected comment."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_status_created", "status", "created_at"),
        Index("ix_appeals_comment", "comment_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|upheld|overturned
    # The comment's status when the author appealed (held or rejected).
    status_appealed: Mapped[str] = mapped_column(String(16))
    answer_note: Mapped[str | None] = mapped_column(Text)
    moderator: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class Erasure(Base):
    """One author erasure; holds counts of what was removed, never who."""

    __tablename__ = "erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class DailyStat(Base):
    """Decided comments per site, day, status and decider, kept when retention deletes rows."""

    __tablename__ = "daily_stats"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    decided_by: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """One notice sent to a site's moderators: what triggered it, when, and where it went.

    The newest row per (site, kind) is the window: no second notice of a kind inside it.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_site_kind_sent", "site_id", "kind", "sent_at"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # held_queue | oldest_held | dead_letters
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Channel -> "sent" or the error ("webhook", "email").
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyVersion(Base):
    """One version of a site's policy: the whole document, the diff from the one before, who/why."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("site_id", "version"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    policy: Mapped[dict[str, Any]]
    diff: Mapped[dict[str, Any]]
    actor: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(20))  # cli | api | workspace | calibration ...
    why: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowDecision(Base):
    """What a site's candidate policy/model would have decided, beside the live decision."""

    __tablename__ = "shadow_decisions"
    __table_args__ = (
        UniqueConstraint("candidate_id", "comment_id"),
        Index("ix_shadow_site_candidate_created", "site_id", "candidate_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    candidate_id: Mapped[str] = mapped_column(String(40))
    live_action: Mapped[str] = mapped_column(String(16))
    shadow_action: Mapped[str] = mapped_column(String(16))
    decision: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
