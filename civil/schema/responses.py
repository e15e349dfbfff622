"""What the site API answers: a comment's state, a feedback label, deliveries, health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from civil.schema.decision import Decision
from civil.schema.wire import Out, Rfc3339

CommentStatus = Literal["pending", "approved", "held", "rejected"]
DeliveryStatus = Literal["pending", "retrying", "delivered", "dead"]


class Links(Out):
    self: str


class CommentState(Out):
    """GET /v1/sites/{site_id}/comments/{id}, and the intake's answer."""

    id: str
    status: CommentStatus
    revision: int
    decision: Decision | None = Field(default=None, description="present once decided")
    links: Links


class FeedbackOut(Out):
    id: str
    label: Literal["spam", "ham"]
    source: str
    feedback_id: int
    recorded_at: Rfc3339


class DeliveryAttempt(Out):
    at: Rfc3339
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(Out):
    """One callback event: where its delivery stands (and, one at a time, its attempt log)."""

    id: str = Field(description="the webhook-id")
    site_id: str
    type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: Rfc3339
    next_attempt_at: Rfc3339 | None
    delivered_at: Rfc3339 | None
    dead_at: Rfc3339 | None
    comment_id: str | None
    log: list[DeliveryAttempt] | None = Field(default=None, description="GET of one delivery")


class ReplayedDelivery(Delivery):
    """A replayed delivery: committed to the outbox, and whether the broker took it."""

    queued: bool = Field(
        description="false: the broker was unreachable; the replay is committed and the "
        "dispatcher sends it within a minute all the same"
    )
    message: str


class DeliveryList(Out):
    deliveries: list[Delivery]


class Alive(Out):
    status: Literal["ok"]


class Ready(Out):
    status: Literal["ready"]
    checks: dict[str, Any]
