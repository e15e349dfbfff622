"""Coral Talk's External Moderation Phase: the request Coral POSTs, the answer it reads.

Field names are Coral's own (camelCase), as its `ExternalModerationRequest` and the response
validator of `services/comments/pipeline/phases/external.ts` spell them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from civil.schema.wire import Out, Rfc3339

CoralAction = Literal["NEW", "EDIT"]
CoralRole = Literal["COMMENTER", "STAFF", "MODERATOR", "ADMIN", "MEMBER"]
CoralStatus = Literal["NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]
CoralFlagReason = Literal["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]
CoralTag = Literal["FEATURED", "STAFF"]
CoralRejectionCode = Literal[
    "OFFENSIVE",
    "ABUSIVE",
    "SPAM",
    "BANNED_WORD",
    "AD",
    "HARASSMENT_BULLYING",
    "ILLEGAL_CONTENT",
    "OTHER",
]


class _CoralIn(BaseModel):
    # Coral may add fields in later versions; what Civil does not read is ignored.
    model_config = ConfigDict(extra="ignore")


class CoralComment(_CoralIn):
    body: str = Field(max_length=200_000)
    parentID: str | None = Field(default=None, max_length=200)
    id: str | None = Field(
        default=None,
        max_length=190,
        description="not sent by Coral's phase today; used as the comment's id when present",
    )


class CoralAuthor(_CoralIn):
    id: str = Field(min_length=1, max_length=200)
    role: str = Field(default="COMMENTER", max_length=40)


class CoralStory(_CoralIn):
    id: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2000)


class CoralSite(_CoralIn):
    id: str = Field(max_length=200)


class CoralRequest(_CoralIn):
    """POST /v1/sites/{site_id}/coral body: Coral's ExternalModerationRequest."""

    action: CoralAction
    comment: CoralComment
    author: CoralAuthor
    story: CoralStory
    site: CoralSite | None = None
    tenantID: str | None = Field(default=None, max_length=200)
    tenantDomain: str | None = Field(default=None, max_length=500)


class CoralFlag(Out):
    actionType: Literal["FLAG"] = "FLAG"
    reason: CoralFlagReason


class CoralRejectionReason(Out):
    code: CoralRejectionCode
    detailedExplanation: str | None = None


class CoralResponse(Out):
    """Coral's ExternalModerationResponse: a status ends Coral's pipeline for the comment."""

    status: CoralStatus
    actions: list[CoralFlag] | None = None
    tags: list[CoralTag] | None = None
    rejectionReason: CoralRejectionReason | None = Field(
        default=None,
        description=(
            "why a REJECTED comment was rejected, in Coral's rejection-reason codes; a Coral "
            "whose phase validator does not know the key strips it (stripUnknown)"
        ),
    )


class CoralSecretIn(BaseModel):
    """PUT /v1/admin/sites/{site_id}/coral: the phase's signing secret, as Coral shows it."""

    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=16, max_length=200, description="e.g. empsec_… from Coral")
    grace_seconds: int = Field(
        default=3600,
        ge=0,
        le=86400,
        description="how long the secrets it replaces stay valid (Coral's rotation offers 0-24h)",
    )
    timeout_ms: int | None = Field(
        default=None, ge=100, le=10000, description="the phase's timeout as set in Coral"
    )


class CoralSecretOut(Out):
    kid: str = Field(description="first 8 hex of the secret's SHA-256 (never the secret)")
    created_at: Rfc3339
    inactive_at: Rfc3339 | None


class CoralConfig(Out):
    site_id: str
    url: str = Field(description="the path to enter as the phase's callback URL")
    timeout_ms: int
    secrets: list[CoralSecretOut]
