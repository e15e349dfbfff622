"""Coral Talk's External Moderation Phase, served for one site.

Coral signs the exact bytes it POSTs: `X-Coral-Signature: sha256=<hex>[,sha256=<hex>…]`, one
HMAC-SHA256 per signing secret of the phase that is still active (during a rotation Coral signs
with the old and the new secret). There is no timestamp in the scheme. Civil keeps the secrets
the operator copied from Coral's admin; a replaced secret keeps verifying until its grace ends,
as Coral's own rotation does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.errors import CivilError, InvalidInput, Unauthorized
from civil.models import Article, Author, Comment, Site, utcnow
from civil.schema import CommentIn, validation_errors
from civil.schema.coral import (
    CoralConfig,
    CoralFlag,
    CoralRejectionReason,
    CoralRequest,
    CoralResponse,
    CoralSecretOut,
)
from civil.sites import get_site

SIGNATURE_HEADER = "X-Coral-Signature"
ID_PREFIX = "coral:"
DEFAULT_TIMEOUT_MS = 500
# Time kept back from Coral's timeout for the answer to travel: Coral aborts at its timeout.
MIN_MARGIN_MS = 100
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
ABUSIVE_LABELS = {"insult", "threat", "identity_attack", "severe_toxicity"}


class NotConfigured(CivilError):
    status, code = 403, "coral_not_configured"


def _kid(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def active_secrets(config: dict[str, Any] | None, now: datetime) -> list[str]:
    """The secrets that verify now: never rotated, or rotated and still in their grace."""
    out = []
    for entry in (config or {}).get("secrets", []):
        inactive_at = _parse_time(entry.get("inactive_at"))
        if inactive_at is None or inactive_at > now:
            out.append(entry["secret"])
    return out


def signatures(header: str | None) -> list[str]:
    """The hex digests of a `sha256=<hex>,sha256=<hex>` header (other schemes ignored)."""
    out = []
    for part in (header or "").split(","):
        scheme, _, digest = part.strip().partition("=")
        if scheme == "sha256" and digest:
            out.append(digest.strip().lower())
    return out


def verify(site: Site, body: bytes, header: str | None, now: datetime | None = None) -> None:
    """Accept the body when one of its signatures is one of the site's active secrets' HMAC."""
    if not site.coral or not site.coral.get("secrets"):
        raise NotConfigured(
            "this site has no Coral signing secret: set one with PUT /v1/admin/sites/{id}/coral",
            {"site_id": site.id},
        )
    given = signatures(header)
    if not given:
        raise Unauthorized(
            f"missing {SIGNATURE_HEADER}", {"header": SIGNATURE_HEADER}, code="invalid_signature"
        )
    for secret in active_secrets(site.coral, now or utcnow()):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, digest) for digest in given):
            return
    raise Unauthorized(
        f"{SIGNATURE_HEADER} matches none of this site's Coral signing secrets",
        {"header": SIGNATURE_HEADER},
        code="invalid_signature",
    )


def timeout_ms(site: Site) -> int:
    return int((site.coral or {}).get("timeout_ms") or DEFAULT_TIMEOUT_MS)


def wait_seconds(site: Site) -> float:
    """How long to wait for the decision so the answer still reaches Coral in time."""
    limit = timeout_ms(site)
    margin = max(MIN_MARGIN_MS, limit // 5)
    return max(limit - margin, 0) / 1000


def parse_request(raw: Any) -> CoralRequest:
    if not isinstance(raw, dict):
        raise CivilError("request body is not a JSON object", code="invalid_json", status=400)
    try:
        return CoralRequest.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(
            "not a Coral external moderation request", {"errors": validation_errors(exc)}
        ) from exc


def _new_id(req: CoralRequest) -> str:
    parts = [req.story.id, req.author.id, req.comment.parentID or "", req.comment.body]
    return ID_PREFIX + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def comment_id(session: Session, site_id: str, req: CoralRequest) -> str:
    """The Civil id of the Coral comment this request is about.

    Coral's phase request carries no comment id (a NEW comment has none yet). A NEW comment
    gets an id from what identifies it (story, author, parent, text): Coral re-sending the same
    request is a replay. An EDIT is a new revision of the author's latest comment on the story
    under the same parent (Coral lets authors edit only within a short window after posting).
    """
    if req.comment.id:
        return ID_PREFIX + req.comment.id
    if req.action == "EDIT":
        parent = Comment.parent_external_id
        found = session.scalar(
            select(Comment.external_id)
            .join(Author, Comment.author_id == Author.id)
            .join(Article, Comment.article_id == Article.id)
            .where(
                Comment.site_id == site_id,
                Comment.external_id.startswith(ID_PREFIX),
                Author.external_id == req.author.id,
                Article.external_id == req.story.id,
                parent.is_(None)
                if req.comment.parentID is None
                else parent == req.comment.parentID,
            )
            .order_by(Comment.received_at.desc(), Comment.id.desc())
            .limit(1)
        )
        if found is not None:
            return found
    return _new_id(req)


def to_comment(req: CoralRequest, external_id: str) -> CommentIn:
    """Coral's fields as Civil's intake fields."""
    body = req.comment.body
    try:
        return CommentIn.model_validate(
            {
                "id": external_id,
                "article": {"id": req.story.id, "url": req.story.url or None},
                "parent_id": req.comment.parentID,
                "author": {"id": req.author.id},
                "content": body,
                # The phase's format (HTML or plain text) is Coral-side; the body tells.
                "content_type": "text/html" if HTML_TAG.search(body) else "text/plain",
            }
        )
    except ValidationError as exc:
        raise InvalidInput(
            "the Coral comment cannot be stored", {"errors": validation_errors(exc)}
        ) from exc


def _flags(reasons: list[dict[str, Any]]) -> list[CoralFlag]:
    out: list[CoralFlag] = []
    for reason in reasons:
        code = str(reason.get("code", ""))
        if code.startswith("toxic"):
            flag = CoralFlag(actionType="FLAG", reason="COMMENT_DETECTED_TOXIC")
        elif code.startswith("spam"):
            flag = CoralFlag(actionType="FLAG", reason="COMMENT_DETECTED_SPAM")
        else:
            continue
        if flag not in out:
            out.append(flag)
    return out


def _rejection(reasons: list[dict[str, Any]]) -> CoralRejectionReason:
    driving = [r for r in reasons if r.get("action") == "reject"] or reasons or [{}]
    first = driving[0]
    code = str(first.get("code", ""))
    if code.startswith("spam"):
        kind = "SPAM"
    elif code == "banned_word":
        kind = "BANNED_WORD"
    elif code.startswith("toxic"):
        kind = "ABUSIVE" if first.get("label") in ABUSIVE_LABELS else "OFFENSIVE"
    else:
        kind = "OTHER"
    return CoralRejectionReason(code=kind, detailedExplanation=first.get("detail"))  # type: ignore[arg-type]


def answer(view: dict[str, Any]) -> dict[str, Any] | None:
    """Coral's answer for a comment's state; None while undecided (Coral carries on: 204)."""
    status = view["status"]
    if status == "pending":
        return None
    reasons = list((view.get("decision") or {}).get("reasons") or [])
    if status == "approved":
        return CoralResponse(status="APPROVED").wire()
    fields: dict[str, Any] = {}
    flags = _flags(reasons)
    if flags:
        fields["actions"] = flags
    if status == "rejected":
        return CoralResponse(
            status="REJECTED", rejectionReason=_rejection(reasons), **fields
        ).wire()
    # Held for a person: Coral's status for a comment its system withheld for review.
    return CoralResponse(status="SYSTEM_WITHHELD", **fields).wire()


def set_secret(
    session: Session,
    site_id: str,
    secret: str,
    grace_seconds: int,
    timeout: int | None = None,
    now: datetime | None = None,
) -> Site:
    """Make ``secret`` the phase's signing secret; the ones it replaces end after the grace.

    Expired secrets are dropped, as Coral drops them; setting a known secret again makes it
    the fresh one.
    """
    now = now or utcnow()
    site = get_site(session, site_id)
    config = dict(site.coral or {})
    kept = []
    for entry in config.get("secrets", []):
        inactive_at = _parse_time(entry.get("inactive_at"))
        if inactive_at is not None and inactive_at <= now:
            continue  # expired: dropped, as Coral drops expired secrets
        if entry["secret"] == secret:
            continue  # set again: it becomes the fresh one below
        # Every secret it replaces ends by the grace: never later, earlier if it was already due.
        ends = now + timedelta(seconds=grace_seconds)
        if inactive_at is None or inactive_at > ends:
            entry = {**entry, "inactive_at": ends.isoformat()}
        kept.append(entry)
    kept.append({"secret": secret, "created_at": now.isoformat(), "inactive_at": None})
    config["secrets"] = kept
    if timeout is not None:
        config["timeout_ms"] = timeout
    config.setdefault("timeout_ms", DEFAULT_TIMEOUT_MS)
    site.coral = config
    session.flush()
    return site


def clear(session: Session, site_id: str) -> Site:
    """Stop serving Coral for the site (every secret forgotten)."""
    site = get_site(session, site_id)
    site.coral = None
    session.flush()
    return site


def config_view(site: Site, now: datetime | None = None) -> dict[str, Any]:
    """The phase's configuration as the admin API shows it: kids, never secrets."""
    now = now or utcnow()
    secrets = []
    for entry in (site.coral or {}).get("secrets", []):
        inactive_at = _parse_time(entry.get("inactive_at"))
        if inactive_at is not None and inactive_at <= now:
            continue
        secrets.append(
            CoralSecretOut(
                kid=_kid(entry["secret"]),
                created_at=_parse_time(entry["created_at"]),  # type: ignore[arg-type]
                inactive_at=inactive_at,
            )
        )
    return CoralConfig(
        site_id=site.id,
        url=f"/v1/sites/{site.id}/coral",
        timeout_ms=timeout_ms(site),
        secrets=secrets,
    ).wire()
