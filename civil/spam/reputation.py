"""Per-site reputation of link domains, author URL domains, e-mail addresses and IPs.

Counts come from the site's spam/ham labels and are updated in the label's transaction by
``learn_label`` (called from ``civil.feedback.record_spam_label``). A relabelled comment moves
its counts from the old label to the new one, so the newest label wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civil.models import SpamReputation
from civil.spam.features import Features
from civil.spam.lexicon import FREEMAIL

Key = tuple[str, str]


def keys_for(features: Features, email: str | None, ip: str | None) -> list[Key]:
    """The (kind, value) pairs a comment's reputation is looked up and counted under."""
    keys: list[Key] = [("link_domain", d) for d in features.domains]
    if features.author_url_domain:
        keys.append(("author_url_domain", features.author_url_domain))
    if email and "@" in email:
        keys.append(("email", email.strip().lower()[:500]))
    # A free-mail domain says nothing about one sender; a company's own domain does.
    if features.email_domain and features.email_domain not in FREEMAIL:
        keys.append(("email_domain", features.email_domain))
    if ip:
        keys.append(("ip", ip))
    return list(dict.fromkeys((kind, value[:500]) for kind, value in keys))


def lookup(session: Session, site_id: str, keys: Iterable[Key]) -> list[tuple[str, str, int, int]]:
    """(kind, value, spam, ham) for the keys this site has labels for."""
    keys = list(keys)
    if not keys:
        return []
    rows = session.execute(
        select(SpamReputation.kind, SpamReputation.value, SpamReputation.spam, SpamReputation.ham)
        .where(
            SpamReputation.site_id == site_id,
            tuple_(SpamReputation.kind, SpamReputation.value).in_(keys),
        )
        .order_by(SpamReputation.kind, SpamReputation.value)
    )
    return [(r.kind, r.value, r.spam, r.ham) for r in rows]


def _row(session: Session, site_id: str, kind: str, value: str) -> SpamReputation:
    query = select(SpamReputation).where(
        SpamReputation.site_id == site_id,
        SpamReputation.kind == kind,
        SpamReputation.value == value,
    )
    row = session.scalar(query.with_for_update())
    if row is not None:
        return row
    try:
        # A savepoint: a concurrent label may insert the same key first; then use that row.
        with session.begin_nested():
            row = SpamReputation(site_id=site_id, kind=kind, value=value, spam=0, ham=0)
            session.add(row)
        return row
    except IntegrityError:
        found = session.scalar(query.with_for_update())
        assert found is not None
        return found


def lock(session: Session, site_id: str, keys: Iterable[Key]) -> None:
    """Take (or create) the rows of ``keys`` in one global order, before changing any.

    Two labels on different comments that share domains would otherwise lock the same rows
    in opposite orders and deadlock on PostgreSQL.
    """
    for kind, value in sorted(set(keys)):
        _row(session, site_id, kind, value)


def count(session: Session, site_id: str, keys: Iterable[Key], label: str, delta: int) -> None:
    """Add ``delta`` (+1 or -1) to the ``label`` count of every key."""
    for kind, value in sorted(set(keys)):
        row = _row(session, site_id, kind, value)
        if label == "spam":
            row.spam = max(row.spam + delta, 0)
        else:
            row.ham = max(row.ham + delta, 0)
