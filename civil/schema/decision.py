"""The decision a comment carries: in answers, in callbacks, in the moderators' queue."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from civil.schema.readers import Statement
from civil.schema.wire import Out, Rfc3339

Action = Literal["approve", "hold", "reject"]
DecidedBy = Literal["auto", "moderator", "reports"]


class Signal(Out):
    """One spam signal that fired and its log-odds."""

    signal: str
    family: str
    contribution: float
    detail: str


class Reason(Out):
    """Why a decision went the way it did; rules add keys of their own beside these."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="toxic* for toxicity, spam* for spam")
    detail: str
    action: Action | None = None
    label: str | None = None
    score: float | None = None
    threshold: float | None = None
    spans: list[list[int]] | None = Field(
        default=None, description="[start, end) character offsets that drove a toxicity score"
    )
    signals: list[Signal] | None = Field(
        default=None, description="spam reasons: each signal that fired and its log-odds"
    )
    discard: bool | None = Field(default=None, description="spam_discard: safe to drop")
    reason: str | None = Field(default=None, description="a moderator's reject reason")
    note: str | None = Field(default=None, description="a moderator's note")


class Scores(Out):
    toxicity: dict[str, float] = Field(description="Detoxify's labels, each 0..1")
    spam: float | None


class Decision(Out):
    """The automatic decision, or a moderator's (which keeps the automatic one in `auto`)."""

    action: Action
    decided_by: DecidedBy
    reasons: list[Reason]
    scores: Scores
    model: str
    decided_at: Rfc3339
    moderator: str | None = Field(default=None, description="the moderator who decided")
    auto: Decision | None = Field(default=None, description="the automatic decision overruled")
    statement: Statement | None = Field(
        default=None, description="rejections: the statement of reasons for the author"
    )
    policy_version: int | None = Field(
        default=None, description="the version of the site's policy that made this decision"
    )
