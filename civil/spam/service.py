"""Spam scoring against storage: gather a comment's facts, score it, learn from labels.

``assess`` runs inside the pipeline's prepare transaction (it also records the comment's
fingerprint for later near-duplicate counts); ``learn_label`` runs inside the feedback
transaction, so a label and everything learnt from it commit together or not at all.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from civil.models import Comment, Feedback, utcnow
from civil.scoring import ScorerUnavailable
from civil.settings import Settings
from civil.spam import neardup, reputation, velocity
from civil.spam.features import Features, SpamInput, extract
from civil.spam.scorer import NEAR_DUP_JACCARD, SpamFacts, SpamResult, SpamScorer
from civil.spam.textmodel import SpamTextModel, load_cached
from civil.toxicity.linear import CONFIG_FILE, WEIGHTS_FILE

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(minutes=10)  # per process, between two prunes of the rolling window
_last_prune = [float("-inf")]  # time.monotonic() of this process's last prune


def site_model_dir(settings: Settings, site_id: str) -> Path:
    """Where ``civil models train-spam --site`` writes a site's own model."""
    return Path(settings.data_dir) / "spam-models" / site_id


@lru_cache(maxsize=64)
def _site_model(path: str, stamp: tuple[int, int]) -> SpamTextModel:
    # Keyed by the files' mtimes: a retrained model is picked up without a worker restart.
    return SpamTextModel.load(Path(path))


def model_for(settings: Settings, site_id: str) -> SpamTextModel:
    """The site's retrained model if it has one (and it loads), else the shipped one."""
    own = site_model_dir(settings, site_id)
    try:
        stamp = (
            os.stat(own / CONFIG_FILE).st_mtime_ns,
            os.stat(own / WEIGHTS_FILE).st_mtime_ns,
        )
        return _site_model(str(own), stamp)
    except OSError:
        pass
    except ScorerUnavailable as exc:
        # A broken site model must not cost the site its spam scoring (nor the batch's
        # other sites, which share the pipeline's fallback): score with the shipped model.
        log.warning("spam model for site %s unusable, using the shipped one: %s", site_id, exc)
    return load_cached(str(Path(settings.model_dir) / "spam"))


def spam_input(comment: Comment) -> SpamInput:
    """What the scorer reads of a stored comment."""
    author, article = comment.author, comment.article
    return SpamInput(
        content=comment.content,
        content_type=comment.content_type,
        honeypot=comment.honeypot,
        author_name=author.name if author else None,
        author_email=author.email if author else None,
        author_url=author.url if author else None,
        ip=comment.ip,
        article_title=article.title if article else None,
        article_text=article.text if article else None,
        is_reply=comment.parent_external_id is not None,
    )


def _stored_facts(
    session: Session,
    site_id: str,
    comment_id: int | None,
    article_id: int | None,
    features: Features,
    email: str | None,
    ip: str | None,
) -> tuple[SpamFacts, np.ndarray | None]:
    """Near-duplicates and the site's reputation, read only; also the text's MinHash values."""
    copies, spam_sim, ham_sim = 0, 0.0, 0.0
    values = neardup.signature(features.model_text)
    if values is not None:
        places = set()
        for match in neardup.find(
            session, values, site_id=site_id, comment_id=comment_id, now=utcnow()
        ):
            if match.label == "spam":
                spam_sim = max(spam_sim, match.similarity)
            elif match.label == "ham":
                ham_sim = max(ham_sim, match.similarity)
            elif match.similarity >= NEAR_DUP_JACCARD and (
                match.site_id != site_id or match.article_id != article_id
            ):
                places.add((match.site_id, match.article_id))
        copies = len(places)
    keys = reputation.keys_for(features, email, ip)
    facts = SpamFacts(
        near_duplicates=copies,
        labelled_spam_similarity=spam_sim,
        labelled_ham_similarity=ham_sim,
        reputation=tuple(reputation.lookup(session, site_id, keys)),
    )
    return facts, values


def _prune_now_and_then(session: Session) -> None:
    """Drop posts older than the near-duplicate window, at most once per ``PRUNE_EVERY``.

    Timed rather than keyed to comment ids, which need not all reach the scorer. In a
    savepoint: a prune that fails (another worker's prune holding the rows) is retried at the
    next interval and never costs the batch its decisions.
    """
    now = time.monotonic()
    if now - _last_prune[0] < PRUNE_EVERY.total_seconds():
        return
    _last_prune[0] = now
    try:
        with session.begin_nested():
            neardup.prune(session, utcnow())
    except DBAPIError as exc:
        log.warning("near-duplicate prune failed, retrying later: %s", exc)


def gather_facts(
    session: Session, comment: Comment, features: Features, redis_url: str | None
) -> SpamFacts:
    """Velocity, near-duplicates and the site's reputation for one comment (records it too)."""
    at = comment.received_at
    speed = velocity.measure(
        session,
        velocity.Subject(
            comment.site_id, comment.id, comment.author_id, comment.ip, features.domains, at
        ),
        redis_url,
    )
    author = comment.author
    facts, values = _stored_facts(
        session,
        comment.site_id,
        comment.id,
        comment.article_id,
        features,
        author.email if author else None,
        comment.ip,
    )
    if values is not None:
        neardup.add(
            session,
            values,
            site_id=comment.site_id,
            comment_id=comment.id,
            article_id=comment.article_id,
            label=None,
            now=at,
            # Claimed once, never edited: no earlier scoring of it can have left a fingerprint.
            first=comment.revision == 1 and comment.score_attempts == 1,
        )
    _prune_now_and_then(session)
    return replace(
        facts, author_recent=speed.author, ip_recent=speed.ip, domain_recent=speed.domain
    )


def assess_unrecorded(
    session: Session,
    settings: Settings,
    site_id: str,
    item: SpamInput,
    comment_id: int | None = None,
    article_id: int | None = None,
) -> SpamResult:
    """The spam scorer's answer for one comment without recording anything anywhere.

    For answers that must leave no trace (Akismet ``is_test``) or that come before the worker
    has scored the comment: velocity counters are not read (reading them counts), the
    near-duplicate index and the site's reputation are.
    """
    features = extract(item)
    # With the article, copies on that same article are not "other places" (as in ``assess``).
    facts, _ = _stored_facts(
        session, site_id, comment_id, article_id, features, item.author_email, item.ip
    )
    [result] = SpamScorer(model_for(settings, site_id)).score_features([item], [features], [facts])
    return result


def assess(session: Session, comments: Sequence[Comment], settings: Settings) -> list[SpamResult]:
    """Spam results for stored comments, each site's with its own model and labels."""
    items = [spam_input(c) for c in comments]
    features = [extract(item) for item in items]
    facts = [
        gather_facts(session, c, f, settings.redis_url)
        for c, f in zip(comments, features, strict=True)
    ]
    results: list[SpamResult | None] = [None] * len(comments)
    by_site: dict[str, list[int]] = {}
    for index, comment in enumerate(comments):
        by_site.setdefault(comment.site_id, []).append(index)
    for site_id, indexes in by_site.items():
        scorer = SpamScorer(model_for(settings, site_id))
        scored = scorer.score_features(
            [items[i] for i in indexes], [features[i] for i in indexes], [facts[i] for i in indexes]
        )
        for i, result in zip(indexes, scored, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def learn_label(session: Session, comment: Comment, label: str, previous: Feedback | None) -> None:
    """Move the comment's reputation counts to ``label`` and index its text as labelled.

    ``previous`` is the comment's last spam label: its counts are taken back from the keys of
    its own snapshot, as the comment's text or author may have been edited since.
    """
    features = extract(spam_input(comment))
    author = comment.author
    keys = reputation.keys_for(features, author.email if author else None, comment.ip)
    old_keys: list[reputation.Key] = []
    if previous is not None:
        then = SpamInput(
            content=previous.text,
            content_type=comment.content_type,
            author_email=previous.author_email,
            author_url=previous.author_url,
            ip=previous.ip,
        )
        old_keys = reputation.keys_for(extract(then), previous.author_email, previous.ip)
        if previous.label == label and old_keys == keys and previous.text == comment.content:
            return  # the same label on the same text teaches nothing new
    reputation.lock(session, comment.site_id, [*old_keys, *keys])
    if previous is not None:
        reputation.count(session, comment.site_id, old_keys, previous.label, -1)
    reputation.count(session, comment.site_id, keys, label, +1)
    values = neardup.signature(features.model_text)
    if values is None:
        if previous is not None:
            neardup.remove(session, comment.id, label)  # no stale text stays labelled
        return
    neardup.add(
        session,
        values,
        site_id=comment.site_id,
        comment_id=comment.id,
        article_id=comment.article_id,
        label=label,
        now=utcnow(),
    )


def labelled_sites(session: Session) -> list[str]:
    """Sites that have given at least one spam/ham label."""
    query = select(Feedback.site_id).where(Feedback.kind == "spam").distinct()
    return sorted(session.scalars(query))


def site_training_rows(session: Session, site_id: str) -> list[tuple[str, str]]:
    """(text, label) of one site's spam labels; a comment's newest label wins."""
    query = (
        select(Feedback)
        .where(Feedback.site_id == site_id, Feedback.kind == "spam")
        .order_by(Feedback.created_at, Feedback.id)
    )
    latest: dict[object, tuple[str, str]] = {}
    for row in session.scalars(query):
        latest[row.comment_id if row.comment_id is not None else ("row", row.id)] = (
            row.text,
            row.label,
        )
    return list(latest.values())
