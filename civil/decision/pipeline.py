"""Scoring a batch of comments and recording each decision exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from civil.db import Database
from civil.decision.facts import gather_facts
from civil.decision.policy import Decision, Policy, Reason, decide
from civil.decision.quoting import mask_quotes
from civil.decision.rules import RuleFacts, evaluate_rules, heuristic_spam_score, plain_text
from civil.decision.tags import reason_tags
from civil.delivery.events import build_events
from civil.models import Comment, ShadowDecision, Site, utcnow
from civil.privacy.scrub import scrub_comment
from civil.scoring import Scorer, ScorerUnavailable
from civil.spam.service import assess

log = logging.getLogger(__name__)


@dataclass
class Job:
    """What scoring one comment needs, copied out of the session so scoring holds no locks."""

    comment_id: int
    revision: int
    text: str
    policy: Policy
    rule_hits: list[Reason]
    spam: float
    notes: list[Reason] = field(default_factory=list)
    spam_explanation: dict[str, Any] = field(default_factory=dict)
    # The model that scored this comment when a language router chose one.
    model: str | None = None
    policy_version: int | None = None
    shadow: ShadowJob | None = None


@dataclass
class ShadowJob:
    """The site's candidate, run beside the live policy: its own policy, rules and model."""

    candidate_id: str
    policy: Policy
    rule_hits: list[Reason]
    model: str | None = None


@dataclass(frozen=True)
class Decided:
    comment_id: int
    external_id: str
    site_id: str
    action: str
    reasons: tuple[str, ...]
    event_ids: tuple[str, ...]
    latency_s: float | None = None


ScorerSource = Callable[[], Scorer]
# A comment waiting this long is backlog: a running task may take it into its batch.
BACKLOG_AFTER_S = 0.25


def claim_batch(
    db: Database, first: tuple[int, int], size: int, lease_s: int
) -> list[tuple[int, int]]:
    """The comment this task was queued for plus up to size-1 other pending ones waiting in line.

    Under load, one task scores a whole batch; the other comments' own queued tasks then find
    them decided and return at once. Each comment is leased so two workers don't batch it twice.
    """
    with db.session() as session:
        return _claim(session, first, size, lease_s)


def _claim(
    session: Session, first: tuple[int, int], size: int, lease_s: int
) -> list[tuple[int, int]]:
    """Lease the queued comment and up to size-1 free backlog comments: two statements.

    The queued comment is leased even under another's lease (its message came back from a
    worker that died mid-batch); the backlog only when free. Each UPDATE is conditional on
    the comment still being pending, so a comment decided meanwhile is left alone.
    """
    now = utcnow()
    lease = {
        "claimed_until": now + timedelta(seconds=lease_s),
        "score_attempts": Comment.score_attempts + 1,
    }
    claimed = []
    result = session.execute(
        update(Comment)
        .where(Comment.id == first[0], Comment.revision == first[1], Comment.status == "pending")
        .values(**lease)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        claimed.append(first)
    if size > 1:
        backlog = (
            select(Comment.id)
            .where(
                Comment.status == "pending",
                Comment.id != first[0],
                Comment.enqueued_at <= now - timedelta(seconds=BACKLOG_AFTER_S),
                or_(Comment.claimed_until.is_(None), Comment.claimed_until < now),
            )
            .order_by(Comment.enqueued_at)
            .limit(size - 1)
        )
        ids = list(session.scalars(backlog))
        if ids:
            rows = session.execute(
                update(Comment)
                .where(
                    Comment.id.in_(ids),
                    Comment.status == "pending",
                    or_(Comment.claimed_until.is_(None), Comment.claimed_until < now),
                )
                .values(**lease)
                .returning(Comment.id, Comment.revision)
            )
            claimed += sorted((r.id, r.revision) for r in rows)
    return claimed


@dataclass(frozen=True)
class Claim:
    """A claimed batch and the scorer to score it with."""

    batch: list[tuple[int, int]]
    scorer_source: ScorerSource


def claim_scoring(
    db: Database,
    first: tuple[int, int],
    scorer_source: ScorerSource,
    *,
    size: int,
    lease_s: int,
    max_attempts: int,
) -> Claim | None:
    """Claim a batch for the comment a task was queued for; None when that comment is gone.

    One transaction: the attempts check and the leases. A poison comment (it killed or timed
    out its worker max_attempts times) is decided by the site's failure policy instead of being
    retried for ever: it is claimed alone, with a scorer that gives up (the backlog it would
    have taken along waits for a healthy batch).
    """
    with db.session() as session:
        attempts = session.scalar(select(Comment.score_attempts).where(Comment.id == first[0]))
        if attempts is None:
            return None
        if attempts >= max_attempts:
            log.error("giving up scoring after %s attempts", attempts)
            return Claim(
                _claim(session, first, 1, lease_s), give_up(f"scoring failed {attempts} times")
            )
        return Claim(_claim(session, first, size, lease_s), scorer_source)


def give_up(reason: str) -> ScorerSource:
    """A scorer source that always fails with this reason (the failure policy decides)."""

    def source() -> Scorer:
        raise ScorerUnavailable(reason)

    return source


def _spam(
    db: Database, session: Session, staged: list[tuple[Comment, RuleFacts]]
) -> list[tuple[float, dict]]:
    """Spam probability and explanation per comment; the interim heuristic if the model fails."""
    try:
        results = assess(session, [comment for comment, _ in staged], db.settings)
    except ScorerUnavailable as exc:
        log.warning("spam model unavailable, using the link/honeypot heuristic: %s", exc)
        return [(heuristic_spam_score(c.content, c.honeypot, f), {}) for c, f in staged]
    return [(r.probability, r.explanation()) for r in results]


def article_policy(site_policy: dict[str, Any] | None, comment: Comment) -> Policy:
    """The policy for this comment's article: the site's, with section and article overrides."""
    article = comment.article
    policy, _ = Policy.from_dict(site_policy).effective(
        article.external_id if article else None, article.section if article else None
    )
    return policy


def rule_hits(
    session: Session,
    comment: Comment,
    policy: Policy,
    masked_text: str,
    *,
    store: bool = True,
    facts: RuleFacts | None = None,
) -> list[Reason]:
    """Every rule hit for a comment under a policy (``store``: may switch on the burst guard)."""
    if facts is None:
        facts = gather_facts(session, comment, policy.repeat_window_minutes, policy, store=store)
    # Word lists read the masked text too: quoting the article's "massacre" on a site
    # that bans the word is citing the news, not using the word.
    return evaluate_rules(
        policy,
        content=comment.content,
        content_type=comment.content_type,
        honeypot=comment.honeypot,
        facts=facts,
        words_text=masked_text,
    )


def shadow_job(
    session: Session, site: Site | None, comment: Comment, masked_text: str
) -> ShadowJob | None:
    """The candidate's side of a comment when the site runs one in shadow."""
    candidate = site.candidate if site else None
    if not candidate:
        return None
    policy = article_policy(candidate.get("policy") or site.policy, comment)  # type: ignore[union-attr]
    # The candidate only looks: it never switches an article's burst guard on.
    hits = rule_hits(session, comment, policy, masked_text, store=False)
    return ShadowJob(candidate["id"], policy, hits, candidate.get("model"))


def prepare(db: Database, ids: list[tuple[int, int]]) -> list[Job]:
    """Load comments, run the rules and the spam scorer; skip any already decided."""
    jobs = []
    with db.session() as session:
        staged = []
        # One read for the batch (article and author joined), not one per comment.
        loaded = {
            c.id: c
            for c in session.scalars(select(Comment).where(Comment.id.in_([i for i, _ in ids])))
        }
        for comment_id, revision in ids:
            comment = loaded.get(comment_id)
            if comment is None or comment.revision != revision or comment.status != "pending":
                continue
            site = session.get(Site, comment.site_id)
            policy = article_policy(site.policy if site else None, comment)
            staged.append((comment, site, policy))
        facts = [gather_facts(session, c, p.repeat_window_minutes, p) for c, _, p in staged]
        # One spam pass for the batch: the text model scores all comments in one call.
        pairs = [(c, f) for (c, _, _), f in zip(staged, facts, strict=True)]
        spam = _spam(db, session, pairs) if pairs else []
        for (comment, site, policy), found, (probability, explanation) in zip(
            staged, facts, spam, strict=True
        ):
            masked = mask_quotes(
                plain_text(comment.content, comment.content_type),
                inline_quote=comment.inline_quote,
                article_text=comment.article.text if comment.article else None,
            )
            hits = rule_hits(session, comment, policy, masked.text, facts=found)
            job = Job(comment.id, comment.revision, masked.text, policy, hits, probability)
            job.spam_explanation = explanation
            job.policy_version = site.policy_version if site else None
            job.shadow = shadow_job(session, site, comment, masked.text)
            if masked.spans:
                job.notes.append(
                    Reason(
                        "quote_masked",
                        f"{masked.masked_chars} characters quoted from the article were not scored",
                        "approve",
                        {"spans": [list(span) for span in masked.spans]},
                    )
                )
            jobs.append(job)
    return jobs


def load(scorer_source: ScorerSource) -> tuple[Scorer | None, str | None]:
    """The scorer, or why it cannot run."""
    try:
        return scorer_source(), None
    except Exception as exc:  # any scorer failure goes to the site's failure policy
        log.warning("toxicity scorer unavailable: %s", exc)
        return None, f"{type(exc).__name__}: {exc}"[:300]


def score(jobs: list[Job], scorer: Scorer) -> list[dict[str, float]]:
    """Toxicity for every job in one batch call.

    A scorer that windows long texts (score_batch_detailed) adds a `windowed` note to the job,
    so the decision says the text was scored in pieces rather than silently truncated.
    """
    texts = [job.text for job in jobs]
    routed = getattr(scorer, "score_batch_routed", None)
    if routed is not None:
        return _score_routed(jobs, routed(texts))
    detailed = getattr(scorer, "score_batch_detailed", None)
    if detailed is None:
        return scorer.score_batch(texts)
    results = []
    for job, (scores, windows) in zip(jobs, detailed(texts), strict=True):
        if windows > 1:
            job.notes.append(_windowed_note(windows))
        results.append(scores)
    return results


def _windowed_note(windows: int) -> Reason:
    return Reason(
        "windowed",
        f"long comment scored in {windows} overlapping windows; each label is the max",
        "approve",
        {"windows": windows},
    )


def _score_routed(jobs: list[Job], routed: list[Any]) -> list[dict[str, float]]:
    """Scores from a language router; each decision says which language and model."""
    results = []
    for job, result in zip(jobs, routed, strict=True):
        if result.windows > 1:
            job.notes.append(_windowed_note(result.windows))
        extra = {
            "language": result.language,
            "confidence": round(result.confidence, 3),
            "model": result.model,
        }
        job.model = result.model
        if result.supported:
            job.notes.append(
                Reason(
                    "language",
                    f"language {result.language}, scored by {result.model}",
                    "approve",
                    extra,
                )
            )
        else:
            action = job.policy.unsupported_language
            job.rule_hits.append(
                Reason(
                    "language_unsupported",
                    f"language {result.language} has no toxicity model "
                    f"(scored by {result.model} anyway); site policy says {action}",
                    action,
                    extra,
                )
            )
        results.append(result.scores)
    return results


def attach_spans(decision: Decision, scorer: Scorer | None, text: str) -> None:
    """Give each toxicity reason the character spans that drove its label (if the model can)."""
    explain = getattr(scorer, "explain", None)
    if explain is None:
        return
    for reason in decision.reasons:
        label = reason.extra.get("label")
        if reason.code.startswith("toxic") and label:
            reason.extra["spans"] = [[start, end] for start, end, _ in explain(text, label)]


def record(
    db: Database, job: Job, decision: Decision, shadow: Decision | None = None
) -> Decided | None:
    """Store one decision if the comment is still this pending revision; build its events."""
    [outcome] = record_all(db, [(job, decision, shadow)])
    return outcome


def record_all(
    db: Database, items: list[tuple[Job, Decision, Decision | None]]
) -> list[Decided | None]:
    """Store a batch's decisions and their events in one transaction (None: already decided).

    Each comment's conditional UPDATE is what makes a re-run (redelivered message, sweeper,
    batch overlap) harmless: only one writer can move a revision out of pending. The batch
    commits together, so a failure leaves every comment of it pending and leased, to be
    scored again; none is half recorded (a decision without its events).
    """
    outcomes: list[Decided | None] = []
    with db.session() as session:
        won = []
        for job, decision, _ in items:
            as_dict = decision.to_dict()
            result = session.execute(
                update(Comment)
                .where(
                    Comment.id == job.comment_id,
                    Comment.revision == job.revision,
                    Comment.status == "pending",
                )
                .values(
                    status=decision.status,
                    decision=as_dict,
                    decided_at=decision.decided_at,
                    claimed_until=None,
                    reason_tags=reason_tags(as_dict),
                )
                .execution_options(synchronize_session=False)
            )
            won.append(result.rowcount == 1)  # type: ignore[attr-defined]
        ids = [job.comment_id for (job, _, _), ok in zip(items, won, strict=True) if ok]
        # One read of every decided row (its article and author joined), not one per comment.
        comments = {}
        if ids:
            fresh = select(Comment).where(Comment.id.in_(ids))
            for comment in session.scalars(fresh.execution_options(populate_existing=True)):
                comments[comment.id] = comment
        for (job, decision, shadow), ok in zip(items, won, strict=True):
            if not ok:
                outcomes.append(None)
                continue
            comment = comments[job.comment_id]
            if shadow is not None and job.shadow is not None:
                # Beside the live decision, in its transaction: no status, no event, no callback.
                session.add(
                    ShadowDecision(
                        site_id=comment.site_id,
                        comment_id=comment.id,
                        candidate_id=job.shadow.candidate_id,
                        live_action=decision.action,
                        shadow_action=shadow.action,
                        decision=shadow.to_dict(),
                    )
                )
            events = build_events(session, comment)
            if comment.do_not_store:
                # After the events are built (they carry the decision, never the text).
                scrub_comment(session, comment)
            latency = None
            if comment.enqueued_at is not None:
                latency = (decision.decided_at - comment.received_at).total_seconds()
            outcomes.append(
                Decided(
                    comment.id,
                    comment.external_id,
                    comment.site_id,
                    decision.action,
                    tuple(r.code for r in decision.reasons),
                    tuple(e.id for e in events),
                    latency,
                )
            )
    return outcomes


def score_comments(
    db: Database, ids: list[tuple[int, int]], scorer_source: ScorerSource
) -> list[Decided]:
    """Score, decide and record a batch; return what was newly decided.

    Comments of a site with its own model (``policy.toxicity_model``) are scored by that model,
    the rest by the deployment's, each group in one batch call; all are recorded together.
    """
    jobs = prepare(db, ids)
    if not jobs:
        return []
    groups: dict[str | None, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.policy.toxicity_model, []).append(job)
    decided: list[tuple[Job, Decision, Decision | None]] = []
    for spec, group in groups.items():
        source = scorer_source if spec is None else _site_model(db, spec)
        decided += decide_group(db, group, source)
    return [outcome for outcome in record_all(db, decided) if outcome is not None]


def _site_model(db: Database, spec: str) -> ScorerSource:
    return lambda: candidate_scorer(db, spec)


def decide_group(
    db: Database, jobs: list[Job], scorer_source: ScorerSource
) -> list[tuple[Job, Decision, Decision | None]]:
    """Score jobs with one model and decide each (with its shadow candidate's decision)."""
    scorer, error = load(scorer_source)
    results: list[dict[str, float]] | None = None
    if scorer is not None:
        try:
            results = score(jobs, scorer)
        except Exception as exc:  # a failing model call is a scorer failure
            log.warning("toxicity scoring failed: %s", exc)
            error = f"{type(exc).__name__}: {exc}"[:300]
    model = scorer.name if scorer is not None and error is None else "unavailable"
    shadows = shadow_decisions(db, jobs, results, model, error)
    decided: list[tuple[Job, Decision, Decision | None]] = []
    for index, job in enumerate(jobs):
        decision = decide(
            job.policy,
            toxicity=results[index] if results is not None else None,
            spam=job.spam,
            rule_hits=job.rule_hits,
            model=job.model if job.model and error is None else model,
            notes=job.notes,
            scorer_error=error,
            spam_explanation=job.spam_explanation,
            policy_version=job.policy_version,
        )
        attach_spans(decision, scorer if error is None else None, job.text)
        decided.append((job, decision, shadows.get(index)))
    return decided


# Candidate models, loaded once per process by spec (a shadow run must not reload per batch).
_CANDIDATE_SCORERS: dict[str, Scorer] = {}


def candidate_scorer(db: Database, spec: str) -> Scorer:
    """The candidate model ``spec`` names, loaded on first use in this process."""
    if spec not in _CANDIDATE_SCORERS:
        from civil.toxicity.loader import load_scorer

        _CANDIDATE_SCORERS[spec] = load_scorer(spec, db.settings.model_dir)
    return _CANDIDATE_SCORERS[spec]


def _candidate_scores(
    db: Database, jobs: list[tuple[int, Job]], spec: str
) -> tuple[list[dict[str, float]] | None, str | None, str]:
    try:
        scorer = candidate_scorer(db, spec)
        return scorer.score_batch([job.text for _, job in jobs]), None, scorer.name
    except Exception as exc:  # a failing candidate is reported in its decisions, never live
        log.warning("candidate model %s unavailable: %s", spec, exc)
        return None, f"{type(exc).__name__}: {exc}"[:300], "unavailable"


def shadow_decisions(
    db: Database,
    jobs: list[Job],
    live: list[dict[str, float]] | None,
    live_model: str,
    live_error: str | None,
) -> dict[int, Decision]:
    """What each job's shadow candidate decides, by job index (live scores unless its own model)."""
    out: dict[int, Decision] = {}
    by_model: dict[str | None, list[tuple[int, Job]]] = {}
    for index, job in enumerate(jobs):
        if job.shadow is not None:
            by_model.setdefault(job.shadow.model, []).append((index, job))
    for spec, group in by_model.items():
        if spec is None:
            scores = [live[i] for i, _ in group] if live is not None else None
            error, model = live_error, live_model
        else:
            scores, error, model = _candidate_scores(db, group, spec)
        for position, (index, job) in enumerate(group):
            assert job.shadow is not None
            out[index] = decide(
                job.shadow.policy,
                toxicity=scores[position] if scores is not None else None,
                spam=job.spam,
                rule_hits=job.shadow.rule_hits,
                model=job.model if spec is None and job.model and error is None else model,
                scorer_error=error,
                spam_explanation=job.spam_explanation,
            )
    return out
