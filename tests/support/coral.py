"""Coral Talk's side of the External Moderation Phase, in Python, step for step.

Mirrors coralproject/talk: `processPhase` in services/comments/pipeline/phases/external.ts
(the request object, its key order), `generateFetchOptions` in services/fetch/fetch.ts (the
body is `JSON.stringify(request, null, 2)`, POSTed with Content-Type and X-Coral-Signature)
and `generateSignatures` in models/settings/signingSecret/helpers.ts (`sha256=<hex>` of an
HMAC-SHA256 per active secret, joined with commas). Coral's reading of the answer is mirrored
by `read_answer` (`external.ts`: non-2xx, 204, "" and "{}" mean "carry on").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CORAL_VERSION = "9.3.0"


def new_signing_secret() -> str:
    """What Coral's generateSigningSecret("empsec", …) makes: prefix, `_`, 32-36 random bytes hex."""
    return "empsec_" + secrets.token_hex(32 + secrets.randbelow(5))


@dataclass
class SigningSecret:
    secret: str
    inactive_at: datetime | None = None


@dataclass
class Phase:
    """One External Moderation Phase as Coral stores it (format HTML or TEXT)."""

    url: str
    signing_secrets: list[SigningSecret] = field(default_factory=list)
    format: str = "HTML"
    timeout_ms: int = 1000


def stringify(data: Any) -> str:
    """JSON.stringify(data, null, 2): two-space indent, `": "`, non-ASCII left as is."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def generate_signatures(signing_secrets: list[SigningSecret], body: str, now: datetime) -> str:
    active = [s for s in signing_secrets if not (s.inactive_at and s.inactive_at <= now)]
    return ",".join(
        "sha256=" + hmac.new(s.secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        for s in active
    )


def moderation_request(
    *,
    action: str = "NEW",
    body_html: str = "<p>A thoughtful comment about the bike lanes.</p>",
    body_text: str = "A thoughtful comment about the bike lanes.",
    phase_format: str = "HTML",
    parent_id: str | None = None,
    author_id: str = "baf4e943-3594-4fcc-b2ba-3e8de7a76352",
    role: str = "COMMENTER",
    story_id: str = "245b3856-b0a0-4d2f-a6bb-58c71f18d6a6",
    story_url: str = "http://localhost:1313/posts/a-story-url/",
    site_id: str = "a4bede88-2d2c-4424-bc18-4322a9e285a6",
    tenant_id: str = "19ba5794-7eeb-4d46-a81b-c00c61672501",
    tenant_domain: str = "localhost",
) -> dict[str, Any]:
    """The ExternalModerationRequest processPhase builds, keys in its order."""
    return {
        "action": action,
        "comment": {
            "body": body_html if phase_format == "HTML" else body_text,
            # `comment.parentID || null`
            "parentID": parent_id or None,
        },
        "author": {"id": author_id, "role": role},
        "story": {"id": story_id, "url": story_url},
        "site": {"id": site_id},
        "tenantID": tenant_id,
        "tenantDomain": tenant_domain,
    }


def fetch_options(
    signing_secrets: list[SigningSecret], request: dict[str, Any], now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """generateFetchOptions + createFetch's default headers: (body bytes, headers)."""
    body = stringify(request)
    headers = {
        "User-Agent": f"Coral Moderation/{CORAL_VERSION}",
        "Content-Type": "application/json",
        "X-Coral-Signature": generate_signatures(signing_secrets, body, now or datetime.now(UTC)),
    }
    return body.encode(), headers


def read_answer(status: int, text: str) -> dict[str, Any] | None:
    """How processPhase reads the phase's answer: None means Coral carries on without it."""
    if not 200 <= status < 300:
        return None
    if status == 204 or text in ("", "{}"):
        return None
    body = json.loads(text)
    # validateResponse: only these keys survive (stripUnknown), each from its allowed values.
    allowed = {
        "status": {"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"},
        "tags": {"FEATURED", "STAFF"},
    }
    if "status" in body:
        assert body["status"] in allowed["status"], body
    for tag in body.get("tags") or []:
        assert tag in allowed["tags"], body
    for flag in body.get("actions") or []:
        assert flag["actionType"] == "FLAG", body
        assert flag["reason"] in {"COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"}, body
    return {k: body[k] for k in ("actions", "status", "tags") if k in body}
