"""The moderators' JSON API: queue filters, actions and bulk actions in; items and outcomes out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from civil.schema.decision import DecidedBy, Decision, Reason
from civil.schema.wire import Out, Rfc3339

QueueView = Literal["held", "pending", "approved", "rejected"]
QueueReason = Literal["toxic", "spam", "words", "links", "new_author", "reported"]
QueueSort = Literal["oldest", "newest"]
RejectReason = Literal["offensive", "abusive", "spam", "off-topic", "other"]
CommentAction = Literal["approve", "reject", "spam", "not_spam"]
AuthorAction = Literal["trust", "premoderate", "ban", "clear_standing"]
ClaimAction = Literal["claim", "release"]


def _blank_is_none(value: Any) -> Any:
    # Forms and hand-written clients send "" for "not set"; it means the same as leaving it out.
    return None if value == "" else value


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_is_none(value)


class QueueFilter(_In):
    """What a queue page, a count or a bulk action covers (all strings, as in the query)."""

    model_config = ConfigDict(extra="forbid")

    view: QueueView = "held"
    reason: QueueReason | None = None
    site_id: str | None = None
    article: str | None = Field(default=None, description="the site's article id")
    author: str | None = Field(default=None, description="the site's author id")
    ip: str | None = None
    q: str | None = Field(default=None, description="case-insensitive substring of the text")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    sort: QueueSort | None = Field(
        default=None, description="default: oldest first; newest decided first in approved/rejected"
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def _time_text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("a time is an RFC 3339 string")
        return value

    @field_validator("view", mode="after")
    @classmethod
    def _view(cls, value: QueueView | None) -> QueueView:
        return value or "held"


class ModeratorAction(_In):
    """POST /v1/comments/{id}/actions body."""

    action: CommentAction | AuthorAction | ClaimAction
    reason: RejectReason | None = Field(default=None, description="required for reject")
    note: str | None = Field(default=None, max_length=2000)
    site_id: str | None = Field(default=None, description="makes {id} the site's comment id")
    expect_status: str | None = Field(
        default=None, description="the status you saw; another status now answers 409 changed"
    )


class BulkAction(_In):
    """POST /v1/queue/bulk body."""

    filter: QueueFilter = Field(default_factory=QueueFilter)
    action: CommentAction
    reason: RejectReason | None = None
    note: str | None = Field(default=None, max_length=2000)
    dry_run: StrictBool = True
    expected: StrictInt | None = Field(
        default=None, description="the dry run's count; a different count now answers 409"
    )

    @field_validator("filter", mode="before")
    @classmethod
    def _no_filter(cls, value: Any) -> Any:
        return {} if value is None else value


# --- out -------------------------------------------------------------------------------------


class QueueArticle(Out):
    id: str
    title: str | None
    url: str | None


class QueueParent(Out):
    id: int
    comment_id: str
    author: str | None
    content: str
    status: str


class AuthorHistory(Out):
    id: str
    name: str | None
    email: str | None
    first_seen_at: Rfc3339 | None
    counts: dict[str, int]
    total: int
    recent_rejection_rate: float | None
    recent_days: int
    standing: str | None
    automatic: dict[str, Any] | None = Field(
        default=None,
        description="the site's automatic standing rules applied to this author: earned trust "
        "(trust_after_approved), first comments held (premoderate_first), rejection rate",
    )


class ScoreRow(Out):
    label: str
    score: float
    hold: float | None
    reject: float | None
    crossed: Literal["hold", "reject"] | None


class AuditEntry(Out):
    id: int
    at: Rfc3339
    actor: str
    action: str
    reason: str | None
    note: str | None
    before: str | None
    after: str | None
    bulk_id: str | None
    comment_external_id: str | None


class QueueItem(Out):
    """One comment as the queue shows it."""

    id: int = Field(description="Civil's comment id (use it in /actions)")
    comment_id: str = Field(description="the site's comment id")
    site_id: str
    site_name: str
    status: str
    content: str
    content_type: str
    highlight_spans: list[list[int]] = Field(
        description="[start, end) character offsets that drove the toxicity score"
    )
    inline_quote: str | None
    ip: str | None
    received_at: Rfc3339 | None
    decided_at: Rfc3339 | None
    decision: Decision | None
    decided_by: DecidedBy | None
    article: QueueArticle | None
    parent: QueueParent | None
    author: AuthorHistory | None
    scores: list[ScoreRow]
    reasons: list[Reason]
    claimed_by: str | None
    audit: list[AuditEntry] | None = None


class QueuePage(Out):
    items: list[QueueItem]
    next_cursor: str | None
    filter: dict[str, str] = Field(description="the filter this page applied")


class ActionOutcome(Out):
    id: int
    comment_id: str
    site_id: str
    action: str
    before: str
    status: str
    events: list[str] = Field(description="the webhook-ids of the callbacks it queued")
    labels: list[str]


class Claimed(Out):
    id: int
    claimed_until: str = Field(json_schema_extra={"format": "date-time"})


class Released(Out):
    id: int
    released: bool


class BulkSkip(Out):
    id: int
    error: str
    message: str


class BulkResult(Out):
    dry_run: bool
    matched: int
    applied: int
    skipped: list[BulkSkip]
    bulk_id: str | None
    event_ids: list[str]
