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
from civil.db import Database
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
        return Submitted(comment.id, data.id, comment.revision, comment.status, "unchanged")
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
    # An edit goes back to pending and is scored again as a new revision.
    comment.revision += 1
    comment.status, comment.decision, comment.decided_at = "pending", None, None
    comment.enqueued_at, comment.score_attempts, comment.claimed_until = now, 0, None
    session.flush()
    return Submitted(comment.id, data.id, comment.revision, "pending", outcome)


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
    session: Session, older_than: datetime, limit: int = 500
) -> list[tuple[int, int]]:
    """Pending comments whose queue message may have been lost: (id, revision) pairs."""
    rows = session.execute(
        select(Comment.id, Comment.revision)
        .where(
            Comment.status == "pending",
            Comment.enqueued_at < older_than,
            # A comment a worker has leased is being scored right now, not stranded.
            or_(Comment.claimed_until.is_(None), Comment.claimed_until < utcnow()),
        )
        .order_by(Comment.enqueued_at)
        .limit(limit)
    )
    return [(r.id, r.revision) for r in rows]


def await_decision(db: Database, site_id: str, external_id: str, seconds: float) -> dict[str, Any]:
    """The comment's public view once it is decided, or as it stands when ``seconds`` run out.

    Polls the row (the worker writes the decision there): quickly at first, then every 0.2 s.
    """
    deadline, delay = time.monotonic() + seconds, 0.02
    while True:
        with db.session() as session:
            view = comment_view(find_comment(session, site_id, external_id))
        if view["status"] != "pending" or time.monotonic() >= deadline:
            return view
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 1.5, 0.2)
