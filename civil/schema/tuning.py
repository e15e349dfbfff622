"""Policy versions, shadow reports and calibration: what the site API answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civil.schema.intake import PolicyIn
from civil.schema.wire import Out


class PolicyChangeIn(BaseModel):
    """PATCH /v1/sites/{site_id}/policy body: settings merged over the live policy."""

    model_config = ConfigDict(extra="forbid")

    changes: PolicyIn
    why: str | None = Field(default=None, max_length=2000, description="kept in the history")


class PolicyState(Out):
    site_id: str
    policy_version: int
    policy: dict[str, Any] = Field(description="the live policy, defaults filled in")
    candidate: dict[str, Any] | None = Field(
        default=None, description="the shadow candidate, if one runs"
    )


class PolicyVersionOut(Out):
    version: int
    at: str
    actor: str
    source: str
    why: str | None
    diff: dict[str, Any] = Field(description='by dotted key: {"from": old, "to": new}')


class PolicyHistory(Out):
    site_id: str
    live_version: int
    versions: list[PolicyVersionOut]


class ShadowSample(Out):
    id: int
    comment_id: str
    excerpt: str


class ShadowCell(Out):
    """Decisions that would move from one action to another, and why."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    count: int
    by_reason: dict[str, int]
    by_label: dict[str, int]
    moderators: dict[str, int] = Field(
        description="whom moderators' later verdicts side with: candidate, live, both, "
        "neither, not_reviewed"
    )
    samples: list[ShadowSample]


class ShadowReport(Out):
    site_id: str
    candidate_id: str
    candidate: dict[str, Any] | None
    since: str
    until: str
    decisions: int
    changed: int
    unchanged: dict[str, int]
    changes: list[ShadowCell]

    def wire(self) -> dict[str, Any]:
        # Cells are keyed `from`/`to` on the wire (`from` is a keyword in Python).
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Promoted(Out):
    site_id: str
    candidate_id: str
    policy_version: int
    changed: bool
    diff: dict[str, Any]
    model: str | None
    model_note: str | None


class CalibrationPoint(Out):
    threshold: float
    flagged: int
    precision: float | None


class CalibrationLabel(Out):
    labels: int
    positive: int
    negative: int
    hold_threshold: float | None
    reject_threshold: float | None
    status: str = Field(description="ok | insufficient_labels")
    message: str | None = None
    curve: list[CalibrationPoint] | None = None
    proposed_hold_threshold: float | None = None
    proposed_reject_threshold: float | None = None


class Calibration(Out):
    site_id: str
    policy_version: int
    target_precision: float
    reject_target_precision: float
    labels: dict[str, CalibrationLabel]
    proposal: dict[str, Any] = Field(description="the policy change the proposal would make")
