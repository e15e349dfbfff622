"""The admin API (/v1/admin/…): sites and moderator accounts in, their views out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from civil.schema.intake import PolicyIn
from civil.schema.wire import Out, Rfc3339


class _AdminIn(BaseModel):
    # A misspelt field is an error, not silently ignored: admin calls change real settings.
    model_config = ConfigDict(extra="forbid")


class NotifyIn(_AdminIn):
    """Who is told, and when: a site's overrides of the CIVIL_NOTIFY_* defaults."""

    enabled: StrictBool | None = None
    webhook_url: str | None = Field(
        default=None, max_length=2000, description="a Slack-compatible incoming webhook"
    )
    emails: list[str] | None = Field(default=None, max_length=50)
    held_over: int | None = Field(
        default=None, ge=0, description="notify when more comments than this are held"
    )
    oldest_minutes: int | None = Field(
        default=None, ge=1, description="notify when the oldest held comment waits longer"
    )
    window_minutes: int | None = Field(
        default=None, ge=1, description="at most one notice of a kind per site in this window"
    )


class SiteCreate(_AdminIn):
    name: str = Field(min_length=1, max_length=200)
    callback_url: str | None = Field(default=None, max_length=2000)
    policy: PolicyIn | None = None
    notify: NotifyIn | None = None


class SiteUpdate(_AdminIn):
    callback_url: str | None = Field(
        default=None, max_length=2000, description="re-enables a disabled endpoint"
    )
    policy: PolicyIn | None = Field(default=None, description="merged over the current policy")
    notify: NotifyIn | None = Field(default=None, description="merged over the current settings")


class SiteOut(Out):
    site_id: str
    name: str
    callback_url: str | None
    callback_disabled: bool
    created_at: str
    policy: dict[str, Any]
    notify: dict[str, Any] | None = None
    coral: bool = Field(default=False, description="a Coral signing secret is set")
    policy_version: int = Field(default=0, description="the live policy version")


class SiteList(Out):
    sites: list[SiteOut]


class SiteCredentials(Out):
    site_id: str
    api_key: str = Field(description="shown only in this answer")
    signing_secret: str


class RotatedKey(Out):
    site_id: str
    api_key: str


class RotatedSecret(Out):
    site_id: str
    signing_secret: str


class Deleted(Out):
    deleted: str


class ModeratorCreate(_AdminIn):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(max_length=1000)
    site_ids: list[str] = Field(default_factory=list, max_length=1000)
    admin: StrictBool = False


class ModeratorUpdate(_AdminIn):
    disabled: StrictBool | None = Field(
        default=None, description="true: no login, no token, every session ended"
    )
    site_ids: list[str] | None = Field(
        default=None, max_length=1000, description="replaces the sites reviewed"
    )


class PasswordReset(_AdminIn):
    password: str = Field(max_length=1000)


class ModeratorOut(Out):
    id: int
    email: str
    admin: bool
    sites: list[str] | Literal["all"]
    disabled: bool
    last_login_at: Rfc3339 | None


class ModeratorList(Out):
    moderators: list[ModeratorOut]


class ModeratorCreated(ModeratorOut):
    token: str = Field(description="the API token, shown only in this answer")


class RotatedToken(Out):
    id: int
    token: str
