"""Re-score and backfill: run a model and policy again over a site's stored comments."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civil.db import Database
from civil.decision.pipeline import article_policy, rule_hits
from civil.decision.policy import Decision, decide
from civil.decision.quoting import mask_quotes
from civil.decision.rules import plain_text
from civil.decision.tags import reason_tags
from civil.delivery.events import build_events
from civil.models import AuditEntry, Comment, Site
from civil.scoring import Scorer
from civil.tuning.shadow import Tally


@dataclass(frozen=True)
class RescoreJob:
    """Which comments to re-score and with what; its key names its resume state."""

    site_id: str
    since: datetime | None = None
    status: str | None = None
    candidate: bool = False
    dry_run: bool = False
    include_moderated: bool = False
    batch_size: int = 100

    def key(self) -> str:
        parts = [self.site_id, str(self.since), str(self.status), str(self.candidate)]
        parts += [str(self.dry_run), str(self.include_moderated)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def state_path(data_dir: Path, job: RescoreJob) -> Path:
    return Path(data_dir) / "rescore" / f"{job.site_id}-{job.key()}.json"


def fresh_state() -> dict[str, Any]:
    return {"last_id": 0, "done": 0, "changed": 0, "skipped_moderated": 0, "finished": False}


def load_state(path: Path) -> dict[str, Any]:
    """Where an unfinished run of the same job stopped; a fresh start otherwise."""
    if path.exists():
        state: dict[str, Any] = json.loads(path.read_text())
        if not state.get("finished"):
            return state
    return fresh_state()


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically: an interrupted run resumes from the last whole batch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def _selection(job: RescoreJob) -> Any:
    stmt = select(Comment.id).where(Comment.site_id == job.site_id, Comment.status != "pending")
    if job.since is not None:
        stmt = stmt.where(Comment.received_at >= job.since)
    if job.status is not None:
        stmt = stmt.where(Comment.status == job.status)
    return stmt


def count_selected(session: Session, job: RescoreJob, after_id: int = 0) -> int:
    ids = session.scalars(_selection(job).where(Comment.id > after_id)).all()
    return len(ids)


def batches(db: Database, job: RescoreJob, after_id: int) -> Iterator[list[int]]:
    """Ids in order, one batch at a time (keyset paging, so a resume starts where it stopped)."""
    while True:
        with db.session() as session:
            ids = list(
                session.scalars(
                    _selection(job)
                    .where(Comment.id > after_id)
                    .order_by(Comment.id)
                    .limit(job.batch_size)
                )
            )
        if not ids:
            return
        yield ids
        after_id = ids[-1]


MODERATOR_VERDICTS = ("approve", "reject", "spam", "not_spam", "trust", "ban")


def moderated_ids(session: Session, comments: list[Comment]) -> set[int]:
    """Comments a person decided: a moderator's decision, or an action in the audit log.

    The log counts too: approving an approved comment changes no decision, yet it is a
    moderator's verdict that a re-score must not overturn.
    """
    ids = {c.id for c in comments}
    decided = {
        c.id for c in comments if (c.decision or {}).get("decided_by") in ("moderator", "reports")
    }
    audited = session.scalars(
        select(AuditEntry.comment_id).where(
            AuditEntry.comment_id.in_(sorted(ids)),
            AuditEntry.site_id.in_({c.site_id for c in comments}),
            AuditEntry.action.in_(MODERATOR_VERDICTS),
        )
    )
    return decided | {i for i in audited if i is not None}


def redecide(
    session: Session, comments: list[Comment], scorer: Scorer, candidate: bool
) -> list[Decision]:
    """Decide stored comments again: the rules, the model, the site's (or candidate's) policy.

    The spam probability is the one stored with the comment (the spam model keeps state per
    comment it sees; re-running it would count each comment twice).
    """
    prepared = []
    for comment in comments:
        site = session.get(Site, comment.site_id)
        assert site is not None
        document = ((site.candidate or {}).get("policy") if candidate else None) or site.policy
        policy = article_policy(document, comment)
        masked = mask_quotes(
            plain_text(comment.content, comment.content_type),
            inline_quote=comment.inline_quote,
            article_text=comment.article.text if comment.article else None,
        )
        hits = rule_hits(session, comment, policy, masked.text, store=False)
        version = None if candidate else site.policy_version
        prepared.append((comment, policy, hits, masked.text, version))
    scores = scorer.score_batch([text for *_, text, _ in prepared])
    decisions = []
    for (comment, policy, hits, _, version), toxicity in zip(prepared, scores, strict=True):
        stored = ((comment.decision or {}).get("scores") or {}).get("spam")
        decisions.append(
            decide(
                policy,
                toxicity=toxicity,
                spam=stored,
                rule_hits=hits,
                model=scorer.name,
                policy_version=version,
            )
        )
    return decisions


def _store(session: Session, comment: Comment, decision: Decision) -> list[str]:
    """Record a new decision if the comment is still as read; events when its status moved."""
    before = comment.status
    changed = session.execute(
        update(Comment)
        .where(
            Comment.id == comment.id,
            Comment.revision == comment.revision,
            Comment.status == before,
        )
        .values(
            status=decision.status,
            decision=decision.to_dict(),
            decided_at=decision.decided_at,
            reason_tags=reason_tags(decision.to_dict()),
        )
    )
    if changed.rowcount != 1 or decision.status == before:  # type: ignore[attr-defined]
        return []
    session.refresh(comment)
    return [event.id for event in build_events(session, comment)]


def rescore(
    db: Database,
    job: RescoreJob,
    scorer: Scorer,
    *,
    state_file: Path,
    progress: Callable[[int], None] = lambda n: None,
) -> dict[str, Any]:
    """Re-score the selection batch by batch; returns totals, the report, the events to send.

    Comments a moderator decided are skipped unless ``include_moderated``. After each batch
    the position is saved to ``state_file``, so running the same job again resumes there.
    """
    state = load_state(state_file)
    event_ids: list[str] = []
    tally: Tally | None = None
    for ids in batches(db, job, state["last_id"]):
        with db.session() as session:
            # One tally across batches; each batch reads verdicts through its own session.
            tally = tally or Tally(session)
            tally.session = session
            comments = [c for c in (session.get(Comment, i) for i in ids) if c is not None]
            spared = set() if job.include_moderated else moderated_ids(session, comments)
            todo = [c for c in comments if c.id not in spared]
            state["skipped_moderated"] = (
                state.get("skipped_moderated", 0) + len(comments) - len(todo)
            )
            decisions = redecide(session, todo, scorer, job.candidate) if todo else []
            for comment, decision in zip(todo, decisions, strict=True):
                live = str((comment.decision or {}).get("action") or "approve")
                tally.add(comment, live, decision.action, decision.to_dict())
                if live != decision.action:
                    state["changed"] += 1
                if not job.dry_run:
                    event_ids += _store(session, comment, decision)
        state["last_id"], state["done"] = ids[-1], state["done"] + len(ids)
        save_state(state_file, state)
        progress(len(ids))
    state["finished"] = True
    save_state(state_file, state)
    return {
        "site_id": job.site_id,
        "dry_run": job.dry_run,
        "model": scorer.name,
        "candidate": job.candidate,
        "processed": state["done"],
        "skipped_moderated": state["skipped_moderated"],
        "changed": state["changed"],
        "report": tally.summary()
        if tally
        else {"decisions": 0, "changed": 0, "unchanged": {}, "changes": []},
        "event_ids": event_ids,
    }
