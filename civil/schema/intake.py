"""What sites send: the comment, its feedback, a policy (validated on the way in)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

ExternalId = Field(min_length=1, max_length=200)
MAX_URL_CHARS = 2000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class ArticleIn(_Strict):
    id: str = ExternalId
    url: AnyHttpUrl | None = None
    title: str | None = Field(default=None, max_length=1000)
    text: str | None = Field(default=None, max_length=200_000)
    section: str | None = Field(
        default=None, max_length=200, description="the site's section (per-section policy)"
    )

    @field_validator("url")
    @classmethod
    def _url_fits(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        # Checked as stored (normalised); the column holds 2,000 characters.
        if value is not None and len(str(value)) > MAX_URL_CHARS:
            raise ValueError(f"url is longer than {MAX_URL_CHARS} characters")
        return value


class AuthorIn(_Strict):
    id: str = ExternalId
    name: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1000)

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        import ipaddress

        if value:
            ipaddress.ip_address(value)  # ValueError -> a 422 naming the field
        return value or None


class CommentIn(_Strict):
    """POST /v1/sites/{site_id}/comments body."""

    id: str = ExternalId
    article: ArticleIn
    parent_id: str | None = Field(default=None, max_length=200)
    author: AuthorIn
    content: str
    content_type: Literal["text/plain", "text/html"] = "text/plain"
    inline_quote: str | None = Field(default=None, max_length=20_000)
    created_at: datetime | None = None
    honeypot: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(
        default=None, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )
    do_not_store: bool = Field(
        default=False,
        description="score, decide and call back, then drop the text and the author's "
        "personal fields; only the decision remains",
    )

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be empty")
        return value

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("created_at must be RFC 3339 with a timezone offset")
        if value is not None:
            try:
                # Stored in UTC: 9999-12-31T23:59-12:00 has no UTC time to store.
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("created_at is out of range in UTC") from None
        return value

    @property
    def content_hash(self) -> str:
        """Fingerprint of what is scored: an edit is a change of any of these."""
        parts = [self.content, self.content_type, self.inline_quote or ""]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class FeedbackIn(_Strict):
    label: Literal["spam", "ham"]


class PolicyOverrideIn(_Strict):
    """Settings a site may change, for itself or for one article or section; all optional."""

    thresholds: dict[str, float] | None = None
    hold_thresholds: dict[str, float] | None = None
    spam_threshold: float | None = Field(default=None, ge=0, le=1)
    spam_hold_threshold: float | None = Field(default=None, ge=0, le=1)
    spam_discard_threshold: float | None = Field(default=None, ge=0, le=1)
    mode: Literal["pre", "post"] | None = None
    on_scorer_failure: Literal["approve", "hold", "reject"] | None = None
    unsupported_language: Literal["approve", "hold", "reject"] | None = None
    banned_words: list[str] | None = None
    suspect_words: list[str] | None = None
    max_links: int | None = Field(default=None, ge=0)
    repeat_window_minutes: int | None = Field(default=None, ge=0)
    author_rate_per_minute: int | None = Field(default=None, ge=0)
    ip_rate_per_minute: int | None = Field(default=None, ge=0)
    report_hold_threshold: float | None = Field(default=None, gt=0)
    closed: bool | None = Field(default=None, description="reject every comment: article_closed")
    trust_after_approved: int | None = Field(
        default=None, ge=1, description="approved comments, none rejected, that earn trust"
    )
    premoderate_first: int | None = Field(
        default=None, ge=0, description="hold each new author's first K comments"
    )
    rejection_rate_limit: float | None = Field(
        default=None, ge=0, le=1, description="hold authors rejected this often recently"
    )
    rejection_rate_window: int | None = Field(default=None, ge=1, le=1000)
    surge_guard: bool | None = Field(default=None, description="pre-moderate surging articles")
    surge_window_minutes: int | None = Field(default=None, ge=1, le=1440)
    surge_factor: float | None = Field(default=None, ge=1)
    surge_min_comments: int | None = Field(default=None, ge=1)
    surge_baseline_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    surge_cooldown_minutes: int | None = Field(default=None, ge=1, le=7 * 1440)
    target_precision: float | None = Field(default=None, gt=0, le=1)


class PolicyIn(PolicyOverrideIn):
    """A site's moderation policy; every field optional on update."""

    retention_days: int | None = Field(
        default=None, ge=1, description="days decided comments and callbacks are kept (site only)"
    )
    toxicity_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="this site's toxicity model (a CIVIL_TOXICITY_MODEL spec); unset: the "
        "deployment's. Through the site API only the shipped models: "
        "linear, minilm, cascade, cascade-int8, cascade-en, onnx:minilm, onnx-int8:minilm",
    )
    articles: dict[str, PolicyOverrideIn] | None = Field(
        default=None, description="overrides for one article, by the article's id"
    )
    sections: dict[str, PolicyOverrideIn] | None = Field(
        default=None, description="overrides for a section (article.section)"
    )
