"""Readers, authors and their data: reports, appeals, erasures, the statement of reasons."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from civil.schema.wire import Out, Rfc3339

ReportReason = Literal["abusive", "hate", "threat", "spam", "off_topic", "illegal", "other"]
AppealOutcome = Literal["upheld", "overturned"]
AppealStatus = Literal["open", "upheld", "overturned"]
ErasureStatus = Literal["pending", "done"]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReportIn(_In):
    """POST /v1/sites/{site_id}/comments/{id}/reports body."""

    reporter_id: str = Field(min_length=1, max_length=200, description="the site's reader id")
    reason: ReportReason
    note: str | None = Field(default=None, max_length=2000)


class ReportOut(Out):
    report_id: str
    comment_id: str
    reports: int = Field(description="distinct reporters of this comment so far")


class AppealIn(_In):
    """POST /v1/sites/{site_id}/comments/{id}/appeals body."""

    note: str | None = Field(default=None, max_length=2000)


class AppealOut(Out):
    appeal_id: str
    status: AppealStatus


class AppealAnswer(Out):
    """`data.appeal` of a `comment.appeal_decided` callback."""

    id: str
    outcome: AppealOutcome
    note: str | None


class Statement(Out):
    """A statement of reasons for a rejection (EU DSA art. 17) a site can show the author."""

    code: str = Field(description="the ground: a reason code")
    text: str = Field(description="plain-language explanation for the author")
    decided_by: str = Field(description="auto (automated means) | moderator | reports")
    automated: bool = Field(description="whether automated means took the decision")
    redress: str = Field(description="how the author can contest it")


class ErasureOut(Out):
    """DELETE /v1/sites/{site_id}/authors/{author_id} and GET of the erasure."""

    erasure_id: str
    status: ErasureStatus
    counts: dict[str, int] = Field(description="rows and keys removed or anonymised, by kind")
    created_at: Rfc3339
    finished_at: Rfc3339 | None
