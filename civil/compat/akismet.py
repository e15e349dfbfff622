"""Akismet 1.1/1.2: its fields as a Civil comment, Civil's decision as its verdict.

A comment-check is a real Civil comment. Its id is derived from the request's own fields,
so a client retrying the same call gets the same row (and the same answer) instead of a
duplicate, and submit-spam/submit-ham sent with the same fields find it again.

Verdict: `true` (spam) when the decision has a reason whose code begins with `spam` and that
asks for hold or reject; `discard` when one of them is `spam_discard`. A comment Civil holds
or rejects only for toxicity, words, or posting rate answers `false`: Akismet clients file
`true` under spam, and a rude comment is not spam. It still sits in Civil's moderator queue
with its own status.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civil.decision.facts import gather_facts
from civil.decision.policy import Decision, Policy, decide
from civil.decision.rules import evaluate_rules, heuristic_spam_score
from civil.models import Author, Comment, utcnow
from civil.schema import CommentIn
from civil.scoring import ScorerUnavailable
from civil.settings import Settings
from civil.spam.features import SpamInput
from civil.spam.service import assess_unrecorded

FIELDS = (
    "blog",
    "user_ip",
    "user_agent",
    "referrer",
    "permalink",
    "comment_type",
    "comment_author",
    "comment_author_email",
    "comment_author_url",
    "comment_content",
    "comment_date_gmt",
    "blog_lang",
    "honeypot_field_name",
    "is_test",
    "recheck_reason",
)
REQUIRED = ("blog", "user_ip")
KEY_PREFIX = "civ_"
SUBMITTED = "Thanks for making the web a better place."
# Civil field (pydantic location) -> the Akismet field a client should fix.
_FIELD_OF = {
    "author.ip": "user_ip",
    "author.email": "comment_author_email",
    "author.url": "comment_author_url",
    "author.name": "comment_author",
    "author.user_agent": "user_agent",
    "article.url": "permalink",
    "article.id": "permalink",
    "content": "comment_content",
    "created_at": "comment_date_gmt",
}
_TRUE = {"1", "true", "yes", "on"}


class AkismetInvalid(Exception):
    """A request Akismet would answer `invalid`; the message goes in X-akismet-debug-help."""


def truthy(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE


def key_from(fields: dict[str, str], host: str) -> str | None:
    """The API key: `api_key` or `key` in the body, else the host's first label (KEY.host)."""
    key = fields.get("api_key") or fields.get("key")
    if key:
        return key
    first, dot, _ = host.partition(".")
    # Only a label shaped like a Civil key counts, so a plain host name is never taken for
    # a key. DNS names are case-insensitive: this works only where nothing lowercases Host.
    return first if dot and first.startswith(KEY_PREFIX) else None


def _digest(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def external_id(fields: dict[str, str]) -> str:
    """A stable comment id from what identifies one submission: where, who, what, when."""
    parts: tuple[str, ...] = ("blog", "permalink", "comment_type", "comment_author")
    parts += ("comment_author_email", "comment_author_url", "user_ip", "comment_content")
    parts += ("comment_date_gmt",)
    return "akismet-" + _digest(*(fields.get(name, "") for name in parts))[:40]


def _author_id(fields: dict[str, str]) -> str:
    email = fields.get("comment_author_email", "").strip().lower()
    who = email or f"{fields.get('comment_author', '')}|{fields.get('user_ip', '')}"
    return "akismet-" + _digest(who)[:24]


def _created_at(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        raise AkismetInvalid("comment_date_gmt is not an ISO 8601 date") from None
    # The field is GMT by name: a date without an offset is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _language(raw: str) -> str | None:
    first = raw.split(",")[0].strip().replace("_", "-")
    return first or None


def missing_field(fields: dict[str, str]) -> str | None:
    return next((name for name in REQUIRED if not fields.get(name, "").strip()), None)


def comment_in(fields: dict[str, str], max_chars: int) -> CommentIn:
    """The Civil comment an Akismet call describes.

    Akismet allows a blank comment_content (signups, pingbacks); Civil stores no comment
    without text, so a blank one comes back unvalidated with empty content, to be scored
    by the rules without being stored.
    """
    missing = missing_field(fields)
    if missing:
        raise AkismetInvalid(f"Missing required field: {missing}.")
    content = fields.get("comment_content", "")
    if len(content) > max_chars:
        raise AkismetInvalid(f"comment_content is longer than {max_chars} characters.")
    honeypot_name = fields.get("honeypot_field_name", "")
    where = fields.get("permalink") or fields["blog"]
    body: dict[str, Any] = {
        "id": external_id(fields),
        "article": {
            "id": "akismet-" + _digest(where)[:24],
            "url": where if where.startswith(("http://", "https://")) else None,
        },
        "author": {
            "id": _author_id(fields),
            "name": fields.get("comment_author") or None,
            "email": fields.get("comment_author_email") or None,
            "url": fields.get("comment_author_url") or None,
            "ip": fields["user_ip"].strip(),
            "user_agent": fields.get("user_agent") or None,
        },
        "content": content if content.strip() else "-",
        "created_at": _created_at(fields.get("comment_date_gmt", "")),
        "honeypot": (fields.get(honeypot_name) or None) if honeypot_name else None,
        "language": _language(fields.get("blog_lang", "")),
    }
    try:
        data = CommentIn.model_validate(body)
    except ValidationError as exc:
        bad = sorted(
            {_FIELD_OF.get(".".join(map(str, e["loc"])), str(e["loc"][0])) for e in exc.errors()}
        )
        raise AkismetInvalid(f"Invalid value for: {', '.join(bad)}.") from exc
    return data if content.strip() else data.model_copy(update={"content": content})


def verdict(decision: dict[str, Any] | None) -> tuple[bool, bool]:
    """(spam, discard) for a Civil decision (see the module docstring)."""
    reasons = (decision or {}).get("reasons", [])
    spam = [r for r in reasons if r["code"].startswith("spam") and r.get("action") != "approve"]
    return bool(spam), any(r["code"] == "spam_discard" for r in spam)


def provisional_decision(
    session: Session,
    settings: Settings,
    policy_data: dict[str, Any] | None,
    comment: Comment,
    item: SpamInput,
) -> Decision:
    """What the rules and the spam scorer say without a worker (no toxicity model).

    Used for `is_test` calls (nothing stored: `comment` is transient) and when the worker's
    decision misses the deadline (the stored row, still pending). Nothing is recorded: the
    worker's own decision will count the comment once. Without the spam model, the interim
    heuristic score stands in.
    """
    policy = Policy.from_dict(policy_data)
    facts = gather_facts(session, comment, policy.repeat_window_minutes)
    hits = evaluate_rules(
        policy,
        content=comment.content,
        content_type=comment.content_type,
        honeypot=comment.honeypot,
        facts=facts,
    )
    try:
        result = assess_unrecorded(
            session, settings, comment.site_id, item, comment.id, comment.article_id
        )
    except ScorerUnavailable:
        spam = heuristic_spam_score(comment.content, comment.honeypot, facts)
        return decide(policy, toxicity=None, spam=spam, rule_hits=hits, model="rules")
    return decide(
        policy,
        toxicity=None,
        spam=result.probability,
        spam_explanation=result.explanation(),
        rule_hits=hits,
        model="rules+spam",
    )


def spam_item(data: CommentIn, article_title: str | None = None) -> SpamInput:
    """What the spam scorer reads of a comment that is not (yet) stored."""
    return SpamInput(
        content=data.content,
        content_type=data.content_type,
        honeypot=data.honeypot,
        author_name=data.author.name,
        author_email=data.author.email,
        author_url=data.author.url,
        ip=data.author.ip,
        article_title=article_title,
        is_reply=data.parent_id is not None,
    )


def transient_comment(session: Session, site_id: str, data: CommentIn) -> Comment:
    """An unsaved Comment carrying what the rules read, for scoring without storing."""
    author_id = session.scalar(
        select(Author.id).where(Author.site_id == site_id, Author.external_id == data.author.id)
    )
    return Comment(
        site_id=site_id,
        external_id=data.id,
        content=data.content,
        content_type=data.content_type,
        content_hash=data.content_hash,
        honeypot=data.honeypot,
        ip=data.author.ip,
        author_id=author_id,
        received_at=utcnow(),
    )


def find_submitted(session: Session, site_id: str, data: CommentIn) -> Comment | None:
    """The comment a submit-spam/submit-ham call is about: same id, else same text and author."""
    same_id = session.scalar(
        select(Comment).where(Comment.site_id == site_id, Comment.external_id == data.id)
    )
    if same_id is not None:
        return same_id
    query = (
        select(Comment)
        .join(Author, Comment.author_id == Author.id)
        .where(Comment.site_id == site_id, Comment.content_hash == data.content_hash)
        .order_by(Comment.received_at.desc())
        .limit(1)
    )
    if data.author.email:
        query = query.where(func.lower(Author.email) == data.author.email.lower())
    elif data.author.name:
        query = query.where(Author.name == data.author.name)
    else:
        query = query.where(Comment.ip == data.author.ip)
    return session.scalar(query)


def usage(session: Session, site_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The usage-limit answer: calls this month (comments received), never throttled."""
    now = now or utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    count = session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(Comment.site_id == site_id, Comment.received_at >= month_start)
    )
    return {"limit": "none", "usage": int(count or 0), "percentage": "0.00", "throttled": False}
