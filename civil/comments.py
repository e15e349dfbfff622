"""Comment intake and state: store first, queue after commit, answer from the row."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civil import schema
from civil.db import Database, queue_frontier
from civil.decided import FALLBACK_POLL_S, Waiter
from civil.errors import NotFound
from civil.models import Article, Author, Comment, Site, utcnow
from civil.schema import ArticleIn, AuthorIn, CommentIn


@dataclass(frozen=True)
class Submitted:
    """The outcome of one submission: which row, and whether it must be (re)scored."""

    comment_id: int
    external_id: str
    revision: int
    status: str
    outcome: str  # created | edited | unchanged
    # The comment's public view as this transaction left it (intake answers from it when it
    # does not wait, without reading the row again).
    view: dict[str, Any] | None = None

    @property
    def needs_scoring(self) -> bool:
        return self.outcome != "unchanged"


def _upsert_article(session: Session, site_id: str, data: ArticleIn) -> Article:
    article = session.scalar(
        select(Article).where(Article.site_id == site_id, Article.external_id == data.id)
    )
    if article is None:
        article = Article(site_id=site_id, external_id=data.id)
        session.add(article)
    # Sites resend the article with each comment; keep the latest non-empty values.
    article.url = str(data.url) if data.url else article.url
    article.title = data.title or article.title
    article.text = data.text or article.text
    article.section = data.section or article.section
    return article


def _upsert_author(session: Session, site_id: str, data: AuthorIn) -> Author:
    author = session.scalar(
        select(Author).where(Author.site_id == site_id, Author.external_id == data.id)
    )
    if author is None:
        author = Author(site_id=site_id, external_id=data.id)
        session.add(author)
    author.name = data.name or author.name
    author.email = data.email or author.email
    author.url = data.url or author.url
    return author


def _store(session: Session, site: Site, data: CommentIn) -> Submitted:
    now = utcnow()
    comment = session.scalar(
        select(Comment).where(Comment.site_id == site.id, Comment.external_id == data.id)
    )
    if comment is not None and comment.content_hash == data.content_hash:
        return Submitted(
            comment.id,
            data.id,
            comment.revision,
            comment.status,
            "unchanged",
            comment_view(comment),
        )
    article = _upsert_article(session, site.id, data.article)
    author = _upsert_author(session, site.id, data.author)
    session.flush()
    outcome = "edited"
    if comment is None:
        outcome = "created"
        comment = Comment(site_id=site.id, external_id=data.id, revision=0, received_at=now)
        session.add(comment)
    comment.article_id, comment.author_id = article.id, author.id
    comment.parent_external_id = data.parent_id
    comment.content, comment.content_type = data.content, data.content_type
    comment.content_hash = data.content_hash
    comment.inline_quote, comment.language = data.inline_quote, data.language
    comment.honeypot = data.honeypot
    comment.ip, comment.user_agent = data.author.ip, data.author.user_agent
    comment.created_at = data.created_at
    comment.do_not_store = data.do_not_store
    # An edit goes back to pending and is scored again as a new revision.
    comment.revision += 1
    comment.status, comment.decision, comment.decided_at = "pending", None, None
    comment.enqueued_at, comment.score_attempts, comment.claimed_until = now, 0, None
    session.flush()
    return Submitted(
        comment.id, data.id, comment.revision, "pending", outcome, comment_view(comment)
    )


def submit_comment(db: Database, site_id: str, data: CommentIn) -> Submitted:
    """Store (or edit) a comment in one transaction; the caller enqueues after this returns."""
    for attempt in range(3):
        try:
            with db.session() as session:
                site = session.get(Site, site_id)
                if site is None:
                    raise NotFound("no such site", {"site_id": site_id})
                return _store(session, site, data)
        except IntegrityError:
            # Two requests raced on the same (site, id) or a new article/author: the loser
            # retries and now sees the winner's row, so a replay stays a no-op.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def comment_view(comment: Comment) -> dict[str, Any]:
    """The public JSON of a comment's state."""
    fields: dict[str, Any] = {}
    # Left out, not null, until decided (the contract's `"decision"?`).
    if comment.decision is not None:
        fields["decision"] = schema.Decision.model_validate(comment.decision)
    return schema.CommentState(
        id=comment.external_id,
        status=comment.status,  # type: ignore[arg-type]
        revision=comment.revision,
        links=schema.Links(self=f"/v1/sites/{comment.site_id}/comments/{comment.external_id}"),
        **fields,
    ).wire()


def find_comment(session: Session, site_id: str, external_id: str) -> Comment:
    comment = session.scalar(
        select(Comment).where(Comment.site_id == site_id, Comment.external_id == external_id)
    )
    if comment is None:
        raise NotFound("no such comment", {"site_id": site_id, "id": external_id})
    return comment


def stranded_comments(
    session: Session, older_than: datetime, limit: int = 500, queued: int = 0
) -> list[tuple[int, int]]:
    """Pending comments whose queue message is lost: (id, revision) pairs, oldest first.

    A comment pending past ``older_than`` may still have its message waiting in a backlog.
    ``queued`` is how many messages the scoring queue holds now; the queue is first in, first
    out, so the newest ``queued`` free pending comments (by when they were queued) are taken to
    be those messages, and only older ones are re-queued. A backlog's messages are therefore
    never doubled by the sweeper (messages of comments another task's batch already decided
    count too: they only make it wait until they have run). With no count (0) every comment
    past ``older_than`` is re-queued, as after a broker outage.
    """
    now = utcnow()
    free = (
        Comment.status == "pending",
        Comment.enqueued_at.is_not(None),
        # A comment a worker has leased is being scored right now, not stranded.
        or_(Comment.claimed_until.is_(None), Comment.claimed_until < now),
    )
    stmt = select(Comment.id, Comment.revision).where(*free, Comment.enqueued_at < older_than)
    if queued > 0:
        # The oldest of the newest ``queued`` marks: comments from it on may still be queued.
        frontier = queue_frontier(session, Comment.enqueued_at, free, queued)
        if frontier is None:  # the queue may hold a message for every pending comment
            return []
        stmt = stmt.where(Comment.enqueued_at < frontier)
    rows = session.execute(stmt.order_by(Comment.enqueued_at).limit(limit))
    return [(r.id, r.revision) for r in rows]


def await_decision(
    db: Database,
    site_id: str,
    external_id: str,
    seconds: float,
    redis_url: str | None = None,
    comment_id: int | None = None,
) -> dict[str, Any]:
    """The comment's public view once it is decided, or as it stands when ``seconds`` run out.

    With Redis and the comment's row id, the worker's notification wakes the wait (see
    ``civil.decided``) and the row is read again only then, or every ``FALLBACK_POLL_S``.
    Otherwise the row is polled: quickly at first, then every 0.2 s.
    """
    deadline, delay = time.monotonic() + seconds, 0.02
    with Waiter(
        redis_url if comment_id is not None and seconds > 0 else None, comment_id or 0
    ) as w:
        while True:
            with db.session() as session:
                view = comment_view(find_comment(session, site_id, external_id))
            left = deadline - time.monotonic()
            if view["status"] != "pending" or left <= 0:
                return view
            if w.notified:
                w.wait(min(left, FALLBACK_POLL_S))
            else:
                time.sleep(min(delay, left))
                delay = min(delay * 1.5, 0.2)
