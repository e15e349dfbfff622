"""Near-duplicate texts: MinHash signatures (datasketch) and LSH bands stored in the database.

A signature is 64 MinHash values over the text's word 3-shingles. It is cut into 32 bands of
2 values; two texts sharing any band are candidates (over 90 % likely from Jaccard 0.3 up,
well under 1 % for unrelated texts), and the
signatures then estimate their Jaccard similarity. Bands live in ``spam_bands`` so every API
and worker process, on SQLite or PostgreSQL, shares one index: recent posts (a rolling
``WINDOW``, all sites, for counting copies) and texts a site labelled (that site only).

A lookup reads a bounded number of rows whatever the traffic: at most ``BUCKET_READ`` of the
newest fingerprints from each band's bucket (an index range on ``(band_key, fingerprint_id)``).
A text posted ten thousand times fills its buckets, and without the bound every new copy would
read every earlier one. Labelled texts are banded under their site's own key space, so a flood
of posts never shares (or crowds) the buckets that hold a site's spam and ham labels.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from sqlalchemy import TextClause, and_, delete, insert, or_, select, text
from sqlalchemy.orm import Session

from civil.models import SpamBand, SpamFingerprint

NUM_PERM = 64
BANDS = 32
ROWS = NUM_PERM // BANDS
SEED = 17
MIN_WORDS = 6  # shorter texts ("thanks!", "great post") repeat innocently
WINDOW = timedelta(hours=24)
MAX_MATCHES = 500  # per kind (posts, labelled texts): enough to count copies and find labels
# Newest fingerprints read per band bucket. The scorer's near-duplicate signal saturates at
# three places; 8 copies per bucket (the same few rows across a copy's 32 bands) find them.
BUCKET_READ = 8
_TOKEN = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _minhash() -> MinHash:
    # One per process, cleared before each text: building a MinHash draws (or parses) its
    # permutations, which costs more than hashing a comment's shingles.
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")


def shingles(text: str) -> list[bytes]:
    """Word 3-shingles of the lower-cased text (empty when it has fewer than MIN_WORDS)."""
    words = _TOKEN.findall(text.lower())
    if len(words) < MIN_WORDS:
        return []
    return list({" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)})


def signature(text: str) -> np.ndarray | None:
    """The text's MinHash values (uint32), or None for a text too short to compare."""
    grams = shingles(text)
    if not grams:
        return None
    minhash = _minhash()
    minhash.clear()
    minhash.update_batch(grams)
    return minhash.hashvalues.astype(np.uint32)


def label_space(site_id: str) -> bytes:
    """The key space of a site's labelled texts (posts use the empty one)."""
    return b"label:" + site_id.encode() + b"\0"


def band_keys(values: np.ndarray, space: bytes = b"") -> list[int]:
    """One signed 64-bit key per band (fits a BIGINT column), in a key space."""
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(space + bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


@dataclass(frozen=True)
class Match:
    """A stored fingerprint that shares a band with the text, and how similar it is."""

    site_id: str
    article_id: int | None
    comment_id: int | None
    label: str | None
    similarity: float


def add(
    session: Session,
    values: np.ndarray,
    *,
    site_id: str,
    comment_id: int | None,
    article_id: int | None,
    label: str | None,
    now: datetime,
    first: bool = False,
) -> None:
    """Store a fingerprint, replacing the comment's previous one of the same kind.

    ``first``: the caller knows the comment has none yet (its first scoring of its first
    revision), so there is nothing to replace and the two DELETEs are skipped.
    """
    if comment_id is not None and not first:
        remove(session, comment_id, label)
    row = SpamFingerprint(
        site_id=site_id,
        comment_id=comment_id,
        article_id=article_id,
        label=label,
        signature=values.astype(np.uint32).tobytes(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    # One executemany for the bands: 32 ORM objects per comment would cost more than scoring.
    space = b"" if label is None else label_space(site_id)
    session.execute(
        insert(SpamBand),
        [
            {"fingerprint_id": row.id, "band": i, "band_key": key}
            for i, key in enumerate(band_keys(values, space))
        ],
    )


def remove(session: Session, comment_id: int, label: str | None) -> None:
    """Drop a comment's fingerprint: its post (label None) or its labelled one."""
    kind = SpamFingerprint.label.is_(None) if label is None else SpamFingerprint.label.is_not(None)
    ids = select(SpamFingerprint.id).where(SpamFingerprint.comment_id == comment_id, kind)
    session.execute(delete(SpamBand).where(SpamBand.fingerprint_id.in_(ids)))
    session.execute(delete(SpamFingerprint).where(SpamFingerprint.id.in_(ids)))


# PostgreSQL reads each bucket's newest rows in one small plan (one index range per key);
# a UNION of 64 limited subqueries costs more to plan there than the whole lookup used to.
_PG_CANDIDATES = text(
    "SELECT DISTINCT b.fingerprint_id FROM unnest(CAST(:keys AS bigint[])) AS k(band_key) "
    "CROSS JOIN LATERAL (SELECT s.fingerprint_id FROM spam_bands AS s "
    "WHERE s.band_key = k.band_key ORDER BY s.fingerprint_id DESC LIMIT :per_bucket) AS b"
)


@lru_cache(maxsize=4)
def _union_candidates(count: int) -> TextClause:
    # Elsewhere (SQLite): one limited index range per key, as a UNION of a fixed shape, built
    # once: constructing 64 subqueries per lookup cost more than running them.
    branch = (
        "SELECT fingerprint_id FROM (SELECT fingerprint_id FROM spam_bands "
        "WHERE band_key = :k{i} ORDER BY fingerprint_id DESC LIMIT :per_bucket)"
    )
    return text(" UNION ".join(branch.format(i=i) for i in range(count)))


def candidate_ids(session: Session, keys: list[int], per_bucket: int = BUCKET_READ) -> list[int]:
    """Fingerprints sharing a band key: the newest ``per_bucket`` of each bucket, one query."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        params: dict[str, object] = {"keys": keys, "per_bucket": per_bucket}
        return list(session.scalars(_PG_CANDIDATES, params))
    params = {f"k{i}": key for i, key in enumerate(keys)}
    params["per_bucket"] = per_bucket
    return list(session.scalars(_union_candidates(len(keys)), params))


def find(
    session: Session, values: np.ndarray, *, site_id: str, comment_id: int | None, now: datetime
) -> list[Match]:
    """Recent posts anywhere and this site's labelled texts that share a band with ``values``.

    Each kind has its own buckets (and cap): a text copied thousands of times (on any site)
    must not crowd this site's labelled copy of it out of the answer. One query finds the
    candidates of both kinds, one reads them.
    """
    ids = candidate_ids(session, band_keys(values) + band_keys(values, label_space(site_id)))
    if not ids:
        return []
    posts = and_(SpamFingerprint.label.is_(None), SpamFingerprint.created_at >= now - WINDOW)
    labelled = and_(SpamFingerprint.label.is_not(None), SpamFingerprint.site_id == site_id)
    query = select(SpamFingerprint).where(SpamFingerprint.id.in_(ids), or_(posts, labelled))
    if comment_id is not None:
        query = query.where(
            or_(SpamFingerprint.comment_id.is_(None), SpamFingerprint.comment_id != comment_id)
        )
    out: list[Match] = []
    taken = {True: 0, False: 0}
    for row in session.scalars(query.order_by(SpamFingerprint.id.desc())):
        kind = row.label is not None
        if taken[kind] >= MAX_MATCHES:
            continue
        taken[kind] += 1
        other = np.frombuffer(row.signature, dtype=np.uint32)
        out.append(
            Match(row.site_id, row.article_id, row.comment_id, row.label, jaccard(values, other))
        )
    return out


def prune(session: Session, now: datetime) -> int:
    """Delete posts older than the window (labelled fingerprints stay); return how many."""
    old = select(SpamFingerprint.id).where(
        SpamFingerprint.label.is_(None), SpamFingerprint.created_at < now - WINDOW
    )
    session.execute(delete(SpamBand).where(SpamBand.fingerprint_id.in_(old)))
    result = session.execute(delete(SpamFingerprint).where(SpamFingerprint.id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
