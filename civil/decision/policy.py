"""The decision policy: a pure function of scores, rule hits and a site's settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from civil import schema
from civil.decision.statement import statement_for
from civil.schema.decision import Action, DecidedBy
from civil.scoring import TOXICITY_LABELS

TRUSTED_CODES = frozenset({"author_trusted", "author_earned_trust"})
SEVERITY: dict[str, int] = {"approve": 0, "hold": 1, "reject": 2}
STATUS_OF: dict[str, str] = {"approve": "approved", "hold": "held", "reject": "rejected"}

# Auto-reject only at high confidence of severe harm; ordinary incivility (toxicity, insult,
# obscene) has no reject threshold and is held for a moderator. 0.80 is where the default
# model's rejections were precise on held-out rows (models/README.md, "The default policy"):
# severe toxicity at 0.60 rejected profane insults annotators did not call severe. A site's
# stored thresholds are kept as stored (see Policy.from_dict).
DEFAULT_REJECT = {
    "severe_toxicity": 0.80,
    "threat": 0.80,
    "identity_attack": 0.80,
}
DEFAULT_HOLD = {
    "toxicity": 0.60,
    "severe_toxicity": 0.25,
    "obscene": 0.70,
    "threat": 0.40,
    "insult": 0.65,
    "identity_attack": 0.40,
}


@dataclass(frozen=True)
class Policy:
    """A site's moderation settings; stored as JSON on the site, defaults filled in here."""

    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REJECT))
    hold_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HOLD))
    spam_threshold: float = 0.95
    spam_hold_threshold: float = 0.60
    # Blatant spam a site may drop without showing anyone (Akismet's "discard" pro-tip);
    # None turns the tier off.
    spam_discard_threshold: float | None = 0.99
    mode: Literal["pre", "post"] = "post"
    on_scorer_failure: Action = "hold"
    # A comment in a language no model was trained on (civil.toxicity.language): held for a
    # person by default; a site may choose approve (or reject).
    unsupported_language: Action = "hold"
    banned_words: list[str] = field(default_factory=list)
    suspect_words: list[str] = field(default_factory=list)
    max_links: int = 3
    repeat_window_minutes: int = 10
    author_rate_per_minute: int = 5
    ip_rate_per_minute: int = 10
    # Weighted distinct reporters that hold an approved comment (civil.moderation.reports).
    report_hold_threshold: float = 3.0
    # Days decided comments and callbacks are kept; None keeps them (civil.privacy.retention).
    retention_days: int | None = None
    # This site's own toxicity model (a CIVIL_TOXICITY_MODEL spec; None: the deployment's),
    # e.g. a shadow candidate's model once promoted.
    toxicity_model: str | None = None
    # Closed to comments: every comment is rejected with `article_closed` (meant for an
    # article or section override; site-wide it closes the whole site).
    closed: bool = False
    # Automatic standing (Coral's approvedCommentsThreshold and rejection-rate rules): an
    # author with this many approved comments and no rejection is trusted (None: off); an
    # author's first `premoderate_first` comments are held; an author whose last
    # `rejection_rate_window` decided comments were rejected at `rejection_rate_limit` or more
    # is held (None: off).
    trust_after_approved: int | None = None
    premoderate_first: int = 0
    rejection_rate_limit: float | None = None
    rejection_rate_window: int = 10
    # Burst guard (off by default): an article receiving `surge_factor` times its usual rate
    # (and at least `surge_min_comments` in `surge_window_minutes`) is pre-moderated for
    # `surge_cooldown_minutes`, then switches back by itself.
    surge_guard: bool = False
    surge_window_minutes: int = 10
    surge_factor: float = 5.0
    surge_min_comments: int = 20
    surge_baseline_hours: int = 24
    surge_cooldown_minutes: int = 60
    # The precision calibration aims for when it proposes thresholds (civil.tuning).
    target_precision: float = 0.9
    # Overrides by article external id and by section: partial policies over this one.
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Policy:
        """Merge stored settings over the defaults (unknown labels are refused upstream).

        A threshold map merges label by label over the defaults: a label the site stored keeps
        its value, a label it left out takes today's default (a reject threshold absent from
        both means that label only ever holds).
        """
        data = {k: v for k, v in (data or {}).items() if v is not None}
        base = cls()
        for key in ("thresholds", "hold_thresholds"):
            if key in data:
                data[key] = {**getattr(base, key), **data[key]}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**asdict(base), **known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def effective(
        self, article_id: str | None, section: str | None
    ) -> tuple[Policy, dict[str, str]]:
        """The policy for one article: the section's override, then the article's, over this.

        The second value says where each overridden setting comes from (``section:politics``,
        ``article:a-17``); a setting absent from it is inherited from the site.
        """
        layers = [
            (f"section:{section}", self.sections.get(section or "")),
            (f"article:{article_id}", self.articles.get(article_id or "")),
        ]
        merged = self.to_dict()
        origin: dict[str, str] = {}
        for name, override in layers:
            for key, value in (override or {}).items():
                if key in ("articles", "sections") or key not in merged or value is None:
                    continue
                if key in ("thresholds", "hold_thresholds"):
                    merged[key] = {**merged[key], **value}
                    origin.update({f"{key}.{label}": name for label in value})
                else:
                    merged[key] = value
                    origin[key] = name
        return Policy(**merged), origin


@dataclass(frozen=True)
class Reason:
    """Why a decision went the way it did; extra keys say which rule, label, score, threshold."""

    code: str
    detail: str
    action: Action = "approve"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "action": self.action, **self.extra}


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: list[Reason]
    scores: dict[str, Any]
    model: str
    decided_at: datetime
    decided_by: DecidedBy = "auto"
    policy_version: int | None = None

    @property
    def status(self) -> str:
        return STATUS_OF[self.action]

    def to_dict(self) -> dict[str, Any]:
        """The stored and sent form: the wire model's (civil.schema.Decision)."""
        reasons = [r.to_dict() for r in self.reasons]
        fields: dict[str, Any] = {}
        statement = statement_for(self.action, self.decided_by, reasons)
        if statement is not None:
            fields["statement"] = schema.Statement.model_validate(statement)
        if self.policy_version:
            # Only when known, so decisions made without a site stay as they were.
            fields["policy_version"] = self.policy_version
        return schema.Decision(
            action=self.action,
            decided_by=self.decided_by,
            reasons=[schema.Reason.model_validate(r) for r in reasons],
            scores=schema.Scores.model_validate(self.scores),
            model=self.model,
            decided_at=self.decided_at,
            **fields,
        ).wire()


def _label_code(label: str) -> str:
    return "toxic" if label == "toxicity" else f"toxic_{label}"


def toxicity_reasons(policy: Policy, scores: dict[str, float]) -> list[Reason]:
    """One reason per label at or above its hold or reject threshold."""
    reasons = []
    for label in TOXICITY_LABELS:
        score = scores.get(label)
        if score is None:
            continue
        for action, limits in (("reject", policy.thresholds), ("hold", policy.hold_thresholds)):
            limit = limits.get(label)
            if limit is not None and score >= limit:
                reasons.append(
                    Reason(
                        _label_code(label),
                        f"{label} {score:.2f} >= {action} threshold {limit:.2f}",
                        action,  # type: ignore[arg-type]
                        {"label": label, "score": round(score, 4), "threshold": limit},
                    )
                )
                break
    return reasons


def spam_reasons(
    policy: Policy, spam: float | None, explanation: dict[str, Any] | None = None
) -> list[Reason]:
    """A `spam` reason at the hold or reject threshold; `spam_discard` at the discard tier.

    ``explanation`` (which signals fired, with their contributions) rides along as extras.
    """
    if spam is None:
        return []
    discard = policy.spam_discard_threshold
    if discard is not None and spam >= discard:
        extra = {**(explanation or {}), "score": round(spam, 4), "threshold": discard}
        extra["discard"] = True
        detail = f"spam {spam:.2f} >= discard threshold {discard:.2f}: safe to drop silently"
        return [Reason("spam_discard", detail, "reject", extra)]
    for action, limit in (("reject", policy.spam_threshold), ("hold", policy.spam_hold_threshold)):
        if spam >= limit:
            extra = {**(explanation or {}), "score": round(spam, 4), "threshold": limit}
            detail = f"spam {spam:.2f} >= {action} threshold {limit:.2f}"
            return [Reason("spam", detail, action, extra)]  # type: ignore[arg-type]
    return []


def decide(
    policy: Policy,
    *,
    toxicity: dict[str, float] | None,
    spam: float | None,
    rule_hits: list[Reason],
    model: str,
    notes: list[Reason] | None = None,
    scorer_error: str | None = None,
    now: datetime | None = None,
    spam_explanation: dict[str, Any] | None = None,
    policy_version: int | None = None,
) -> Decision:
    """Turn scores and rule hits into approve / hold / reject with every reason that counted."""
    reasons = list(rule_hits)
    if scorer_error is not None:
        reasons.append(
            Reason(
                "scorer_unavailable",
                f"toxicity scorer failed ({scorer_error}); "
                f"site policy says {policy.on_scorer_failure}",
                policy.on_scorer_failure,
            )
        )
    else:
        reasons += toxicity_reasons(policy, toxicity or {})
    reasons += spam_reasons(policy, spam, spam_explanation)
    action: Action = max((r.action for r in reasons), key=SEVERITY.__getitem__, default="approve")
    # A trusted author (by a moderator, or by standing earned) skips holds and
    # pre-moderation; a reject still rejects.
    trusted = any(r.code in TRUSTED_CODES for r in reasons)
    if action == "hold" and trusted:
        action = "approve"
    if action == "approve" and policy.mode == "pre" and not trusted:
        action = "hold"
        reasons.append(Reason("premoderation", "site pre-moderates every comment", "hold"))
    if not reasons:
        reasons.append(Reason("clean", "no rule matched and every score is below its threshold"))
    scores: dict[str, Any] = {"toxicity": dict(toxicity or {}), "spam": spam}
    return Decision(
        action=action,
        reasons=reasons + list(notes or []),
        scores=scores,
        model=model,
        decided_at=now or datetime.now(UTC),
        policy_version=policy_version,
    )
