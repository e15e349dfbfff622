"""Policy as data with a history: every change is a new version with who, when, why, the diff."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civil.decision.policy import Policy
from civil.errors import InvalidInput
from civil.models import AuditEntry, PolicyVersion, Site
from civil.schema import PolicyIn, validation_errors
from civil.scoring import TOXICITY_LABELS

Source = Literal["create", "cli", "api", "workspace", "calibration", "promote", "migration"]
SOURCES: tuple[str, ...] = ("create", "cli", "api", "workspace", "calibration", "promote")


def policy_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed, by dotted key: ``{"thresholds.toxicity": {"from": 0.92, "to": 0.9}}``.

    Dictionaries of settings (thresholds, overrides) are compared key by key, so a diff names
    the one label or article that changed rather than the whole map.
    """
    changes: dict[str, Any] = {}

    def walk(prefix: str, old: Any, new: Any) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                walk(f"{prefix}.{key}" if prefix else key, old.get(key), new.get(key))
        elif old != new:
            changes[prefix] = {"from": old, "to": new}

    walk("", before, after)
    return changes


def record_version(
    session: Session,
    site: Site,
    policy: dict[str, Any],
    *,
    actor: str,
    source: str,
    why: str | None = None,
) -> PolicyVersion | None:
    """Make ``policy`` the site's live policy as a new version; None when nothing changed.

    The version row, the site's pointer to it and an audit entry go into the caller's
    transaction together: a change is either all of these or none.
    """
    # A site's first version is diffed against the defaults: it shows what the site chose.
    previous = dict(site.policy or {}) if site.policy_version else Policy().to_dict()
    diff = policy_diff(previous, policy)
    if site.policy_version and not diff:
        return None
    version = PolicyVersion(
        site_id=site.id,
        version=site.policy_version + 1,
        policy=policy,
        diff=diff,
        actor=actor,
        source=source,
        why=why,
    )
    site.policy, site.policy_version = policy, version.version
    session.add(version)
    if source == "create":  # the site's first policy is its creation, not a change
        session.flush()
        return version
    session.add(
        AuditEntry(
            site_id=site.id,
            actor=actor,
            action="policy_change",
            reason=source[:30],
            note=why,
            before={"policy_version": version.version - 1},
            after={"policy_version": version.version, "diff": diff},
        )
    )
    session.flush()
    return version


def policy_history(session: Session, site_id: str, limit: int = 100) -> list[PolicyVersion]:
    """The site's policy versions, newest first."""
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.site_id == site_id)
            .order_by(PolicyVersion.version.desc())
            .limit(limit)
        )
    )


def version_view(row: PolicyVersion) -> dict[str, Any]:
    from civil.schema import rfc3339

    return {
        "version": row.version,
        "at": rfc3339(row.created_at),
        "actor": row.actor,
        "source": row.source,
        "why": row.why,
        "diff": row.diff,
    }


def validate_policy(data: dict[str, Any] | None) -> dict[str, Any]:
    """Check a policy document and return it with defaults filled."""
    try:
        parsed = PolicyIn.model_validate(data or {})
    except ValidationError as exc:
        raise InvalidInput("invalid policy", {"errors": validation_errors(exc)}) from exc
    overrides = [("", parsed)]
    for kind in ("articles", "sections"):
        overrides += [(f"{kind}.{k}.", v) for k, v in (getattr(parsed, kind) or {}).items()]
    for prefix, part in overrides:
        for key in ("thresholds", "hold_thresholds"):
            for label, value in (getattr(part, key) or {}).items():
                if label not in TOXICITY_LABELS or not 0 <= value <= 1:
                    raise InvalidInput(
                        f"{key} takes the six toxicity labels with values 0..1",
                        {"field": prefix + key, "label": label},
                    )
    return Policy.from_dict(parsed.model_dump(exclude_none=True)).to_dict()


def change_policy(
    session: Session,
    site: Site,
    changes: dict[str, Any],
    *,
    actor: str,
    source: str,
    why: str | None = None,
) -> PolicyVersion | None:
    """Merge ``changes`` over the site's policy and record the result as a new version.

    Top-level keys replace; ``articles`` and ``sections`` merge per article or section, and
    an override set to null is removed.
    """
    merged = dict(site.policy or {})
    for key, value in changes.items():
        if key in ("articles", "sections") and isinstance(value, dict):
            overrides = {**(merged.get(key) or {}), **value}
            merged[key] = {k: v for k, v in overrides.items() if v is not None}
        else:
            merged[key] = value
    return record_version(
        session, site, validate_policy(merged), actor=actor, source=source, why=why
    )
