"""``do_not_store``: once decided, a comment keeps its decision and nothing personal."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from civil.models import Author, Comment, SpamBand, SpamFingerprint


def scrub_comment(session: Session, comment: Comment) -> None:
    """Drop the text, the author's personal fields and the text's fingerprint (caller commits).

    The author row keeps only the site's id while another stored comment of theirs does not
    need the name and e-mail (their other comments may have been sent without the flag).
    """
    comment.content, comment.inline_quote, comment.honeypot = "", None, None
    comment.ip, comment.user_agent = None, None
    prints = select(SpamFingerprint.id).where(SpamFingerprint.comment_id == comment.id)
    session.execute(delete(SpamBand).where(SpamBand.fingerprint_id.in_(prints)))
    session.execute(delete(SpamFingerprint).where(SpamFingerprint.comment_id == comment.id))
    if comment.author_id is None:
        return
    kept = session.scalar(
        select(
            exists().where(
                Comment.author_id == comment.author_id,
                Comment.id != comment.id,
                Comment.do_not_store.is_(False),
            )
        )
    )
    if not kept:
        author = session.get(Author, comment.author_id)
        if author is not None:
            author.name, author.email, author.url = None, None, None
