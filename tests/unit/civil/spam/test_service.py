"""Learning from labels on a real (SQLite) database, through the real pipeline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from civil.comments import submit_comment
from civil.decision import pipeline
from civil.feedback import record_spam_label
from civil.models import Comment, Feedback, SpamFingerprint, SpamReputation, utcnow
from civil.schema import CommentIn
from civil.scoring import TOXICITY_LABELS
from civil.sites import create_site
from civil.spam import neardup
from civil.spam.service import assess
from tests.factories import comment_body

ARTICLE = {
    "id": "a-bikes",
    "title": "Council approves protected bike lanes on Main Street",
    "text": "The council voted to build protected bike lanes along Main Street.",
}


class Calm:
    """A toxicity scorer that finds nothing, so decisions are about spam only."""

    name = "test:calm"

    def score_batch(self, texts):
        return [dict.fromkeys(TOXICITY_LABELS, 0.01) for _ in texts]


def post(db, site_id, content, **overrides):
    body = comment_body(content=content, article=overrides.pop("article", ARTICLE), **overrides)
    sub = submit_comment(db, site_id, CommentIn.model_validate(body))
    pipeline.score_comments(db, [(sub.comment_id, sub.revision)], Calm)
    with db.session() as s:
        return sub.comment_id, s.get(Comment, sub.comment_id).decision


def label(db, comment_id, value, source="moderator"):
    with db.session() as s:
        record_spam_label(s, s.get(Comment, comment_id), value, source, actor="mod@example.org")


def spam_codes(decision):
    return [r["code"] for r in decision["reasons"] if r["code"].startswith("spam")]


def test_a_label_changes_the_next_decision_for_the_same_domain_on_that_site_only(db, site):
    with db.session() as s:
        other = create_site(s, name="Other", callback_url=None, allow_private=True)
    first_id, first = post(
        db,
        site.site_id,
        "Parking on Main Street was already hard, see the map at "
        "https://greenwheels-deals.example/map",
    )
    assert first["scores"]["spam"] < 0.6 and not spam_codes(first)
    label(db, first_id, "spam")
    again = "The junction by the station worries me, details at https://greenwheels-deals.example/j"
    # Another author, e-mail and IP: only the linked domain connects it to the first comment.
    stranger = {"id": "u-x", "name": "X", "email": "x@example.net", "ip": "198.51.100.9"}
    _, after = post(db, site.site_id, again, author=stranger)
    # Another wording on the other site, so the cross-site copy signal stays out of it.
    _, elsewhere = post(
        db,
        other.site_id,
        "Riding past the station is fine now, map at https://greenwheels-deals.example/x",
        author=stranger,
    )
    assert after["scores"]["spam"] >= 0.6 and after["action"] in ("hold", "reject")
    [reason] = [r for r in after["reasons"] if r["code"] in ("spam", "spam_discard")]
    signals = {s["signal"]: s for s in reason["signals"]}
    assert signals["spam_reputation"]["contribution"] > 0
    assert "greenwheels-deals.example" in signals["spam_reputation"]["detail"]
    assert elsewhere["scores"]["spam"] < 0.6, "a site's labels must not leak to another site"
    assert "greenwheels" not in str(elsewhere["reasons"])


def test_relabelling_moves_the_counts_and_repeating_a_label_is_a_no_op(db, site):
    comment_id, _ = post(db, site.site_id, "See https://twice.example for cheap tickets today")
    label(db, comment_id, "spam")
    label(db, comment_id, "spam", source="site")
    with db.session() as s:
        row = s.scalar(
            select(SpamReputation).where(
                SpamReputation.kind == "link_domain", SpamReputation.value == "twice.example"
            )
        )
        assert (row.spam, row.ham) == (1, 0)
    label(db, comment_id, "ham")
    with db.session() as s:
        row = s.scalar(select(SpamReputation).where(SpamReputation.value == "twice.example"))
        assert (row.spam, row.ham) == (0, 1)
        assert s.scalar(select(func.count()).select_from(Feedback)) == 3
        labelled = s.scalars(select(SpamFingerprint).where(SpamFingerprint.label.is_not(None)))
        assert [f.label for f in labelled] == ["ham"]


def test_a_text_labelled_spam_is_recognised_when_reworded(db, site):
    text = (
        "Hello friends, I make 300 dollars every day from home with this simple method, "
        "message me on telegram to learn how"
    )
    comment_id, first = post(db, site.site_id, text)
    label(db, comment_id, "spam")
    _, second = post(
        db,
        site.site_id,
        text.replace("300", "500") + " today",
        author={"id": "u-new", "name": "New", "email": "new@example.net", "ip": "198.51.100.7"},
    )
    [reason] = [r for r in second["reasons"] if r["code"].startswith("spam")]
    known = [s for s in reason["signals"] if s["signal"] == "spam_known_text"]
    assert known and known[0]["contribution"] >= 2.5
    assert second["scores"]["spam"] > first["scores"]["spam"]


def test_the_same_text_on_other_articles_counts_as_a_copy(db, site):
    text = "Everyone should read the report on the housing market before the council meets again"
    ids = []
    for n in range(3):
        article = {"id": f"a-{n}", "title": f"Story {n}"}
        author = {"id": f"u-{n}", "email": f"r{n}@example.net", "ip": f"10.0.0.{n}"}
        ids.append(post(db, site.site_id, text, article=article, author=author))
    with db.session() as s:
        [result] = assess(s, [s.get(Comment, ids[-1][0])], db.settings)
    [dup] = [x for x in result.signals if x.code == "spam_duplicate"]
    assert dup.contribution == 3.0 and "2 other" in dup.detail
    assert ids[-1][1]["scores"]["spam"] > ids[0][1]["scores"]["spam"]


def test_velocity_without_redis_counts_in_the_database(db, site):
    author = {"id": "u-fast", "name": "Fast", "email": "fast@example.net", "ip": "192.0.2.9"}
    scores = []
    for n in range(8):
        _, decision = post(
            db, site.site_id, f"Interesting point number {n} about the lanes", author=author
        )
        scores.append(decision["scores"]["spam"])
    assert scores[-1] > scores[0]


def test_fingerprints_are_replaced_and_pruned(db, site):
    text = "A long enough comment about the bike lanes and parking"
    comment_id, _ = post(db, site.site_id, text, id="c-edited")
    edited_id, _ = post(db, site.site_id, text + " near the station", id="c-edited")
    assert edited_id == comment_id
    with db.session() as s:
        # The edit replaced the first revision's fingerprint instead of adding a second one.
        assert s.scalar(select(func.count()).select_from(SpamFingerprint)) == 1
        row = s.scalar(select(SpamFingerprint))
        row.created_at -= neardup.WINDOW + timedelta(minutes=1)
    with db.session() as s:
        assert neardup.prune(s, row.created_at + neardup.WINDOW + timedelta(minutes=2)) == 1
        assert s.scalar(select(func.count()).select_from(SpamFingerprint)) == 0


def test_without_a_spam_model_the_interim_heuristic_still_decides(settings, site, tmp_path):
    from dataclasses import replace

    from civil.db import Database

    broken = Database(replace(settings, model_dir=tmp_path / "no-models"))
    try:
        _, decision = post(broken, site.site_id, "Great read, thanks", honeypot="filled")
        _, clean = post(broken, site.site_id, "A calm comment about the bike lanes")
    finally:
        broken.engine.dispose()
    from civil.decision.rules import RuleFacts, heuristic_spam_score

    assert decision["scores"]["spam"] == heuristic_spam_score("Great read", "filled", RuleFacts())
    assert "spam_honeypot" in spam_codes(decision)
    assert clean["scores"]["spam"] < 0.1 and not spam_codes(clean)


def _counts(db, site_id):
    with db.session() as s:
        rows = s.scalars(
            select(SpamReputation).where(
                SpamReputation.site_id == site_id, SpamReputation.kind == "link_domain"
            )
        )
        return {r.value: (r.spam, r.ham) for r in rows}


def test_relabelling_an_edited_comment_takes_back_the_counts_of_the_labelled_text(db, site):
    comment_id, _ = post(
        db, site.site_id, "Cheap tickets at https://first-deals.example today", id="c-e"
    )
    label(db, comment_id, "spam")
    post(db, site.site_id, "Cheap tickets at https://second-deals.example now", id="c-e")
    label(db, comment_id, "ham")
    assert _counts(db, site.site_id) == {
        "first-deals.example": (0, 0),
        "second-deals.example": (0, 1),
    }
    # The same label again, on the edited text, moves the counts to the new text's keys too.
    post(db, site.site_id, "Cheap tickets at https://third-deals.example now", id="c-e")
    label(db, comment_id, "ham")
    label(db, comment_id, "spam")
    assert _counts(db, site.site_id) == {
        "first-deals.example": (0, 0),
        "second-deals.example": (0, 0),
        "third-deals.example": (1, 0),
    }


def test_a_flood_of_copies_does_not_hide_the_sites_labelled_text(db, site, monkeypatch):
    monkeypatch.setattr(neardup, "MAX_MATCHES", 5)
    with db.session() as s:
        other = create_site(s, name="Flooded", callback_url=None, allow_private=True)
    text = "Earn 500 dollars a day from home, message me on telegram to learn how today"
    values = neardup.signature(text)
    with db.session() as s:
        for n in range(8):  # unlabelled copies on another site, more than a query returns
            neardup.add(
                s,
                values,
                site_id=other.site_id,
                comment_id=None,
                article_id=n,
                label=None,
                now=utcnow(),
            )
        neardup.add(
            s,
            values,
            site_id=site.site_id,
            comment_id=None,
            article_id=None,
            label="spam",
            now=utcnow(),
        )
    with db.session() as s:
        found = neardup.find(s, values, site_id=site.site_id, comment_id=None, now=utcnow())
    assert [m.label for m in found if m.label] == ["spam"]


def test_old_posts_are_pruned_while_comments_are_scored(db, site, monkeypatch):
    from civil.spam import service

    comment_id, _ = post(db, site.site_id, "A long enough comment about the bike lanes and parking")
    with db.session() as s:
        s.scalar(select(SpamFingerprint)).created_at -= neardup.WINDOW + timedelta(minutes=1)
    monkeypatch.setattr(service, "_last_prune", [float("-inf")])  # the interval has passed
    newer_id, _ = post(db, site.site_id, "Another long comment, this one about the new bus routes")
    assert newer_id % 500 and comment_id % 500, "ids that are no multiple of anything special"
    with db.session() as s:
        assert [f.comment_id for f in s.scalars(select(SpamFingerprint))] == [newer_id]


def test_the_answer_before_the_worker_agrees_on_copies_of_the_same_article(db, site):
    from civil.spam.service import assess_unrecorded, spam_input

    text = "Everyone should read the report on the housing market before the council meets"
    for n in range(2):
        post(db, site.site_id, text, author={"id": f"u-{n}", "ip": f"10.0.1.{n}"})
    third = submit_comment(
        db, site.site_id, CommentIn.model_validate(comment_body(content=text, article=ARTICLE))
    )
    with db.session() as s:
        comment = s.get(Comment, third.comment_id)
        early = assess_unrecorded(
            s, db.settings, site.site_id, spam_input(comment), comment.id, comment.article_id
        )
        [worker] = assess(s, [comment], db.settings)
        s.rollback()
    assert "spam_duplicate" not in {x.code for x in early.signals}
    assert early.probability == worker.probability


def _flood(s, values, site_id, copies, start=0):
    for n in range(start, start + copies):
        neardup.add(
            s, values, site_id=site_id, comment_id=None, article_id=n, label=None, now=utcnow()
        )


def test_a_lookup_reads_a_bounded_number_of_rows_however_many_copies_exist(db, site):
    """Rows read per lookup (bucket ids and fingerprints) stop growing with the copies."""
    from sqlalchemy import event

    text = "Cheap watches and bags at wholesale prices, visit our shop and order today friend"
    values = neardup.signature(text)
    with db.session() as s:
        other = create_site(s, name="Flood source", callback_url=None, allow_private=True)
    loaded: list[int] = []

    def on_load(row, _context):
        loaded.append(row.id)

    event.listen(SpamFingerprint, "load", on_load)

    def lookup():
        loaded.clear()
        with db.session() as s:
            ids = neardup.candidate_ids(s, neardup.band_keys(values))
            found = neardup.find(s, values, site_id=site.site_id, comment_id=None, now=utcnow())
        return len(ids), len(loaded), len(found)

    try:
        with db.session() as s:
            _flood(s, values, other.site_id, 2 * neardup.BUCKET_READ)
        at_small = lookup()
        with db.session() as s:
            _flood(s, values, other.site_id, 8 * neardup.BUCKET_READ, start=1000)
        at_large = lookup()
    finally:
        event.remove(SpamFingerprint, "load", on_load)
    assert at_small == at_large == (neardup.BUCKET_READ,) * 3


def test_labelled_texts_keep_their_own_buckets_under_a_flood(db, site):
    """An old spam label is still found after many newer copies fill the posts' buckets."""
    text = "Earn 500 dollars a day from home, message me on telegram to learn how today"
    values = neardup.signature(text)
    with db.session() as s:
        other = create_site(s, name="Flooded", callback_url=None, allow_private=True)
        neardup.add(
            s,
            values,
            site_id=site.site_id,
            comment_id=None,
            article_id=None,
            label="spam",
            now=utcnow(),
        )
    with db.session() as s:
        _flood(s, values, other.site_id, 3 * neardup.BUCKET_READ)
    with db.session() as s:
        found = neardup.find(s, values, site_id=site.site_id, comment_id=None, now=utcnow())
        assert [m.label for m in found if m.label] == ["spam"]
        # The other site does not see this site's label, and no post lands in a label bucket.
        elsewhere = neardup.find(s, values, site_id=other.site_id, comment_id=None, now=utcnow())
        assert [m.label for m in elsewhere if m.label] == []
        label_ids = neardup.candidate_ids(
            s, neardup.band_keys(values, neardup.label_space(site.site_id))
        )
        assert len(label_ids) == 1


def test_a_copy_in_a_flood_still_counts_its_copies(db, site):
    """With the bucket read bounded, the duplicate signal is still at its ceiling."""
    text = "Everyone should read the report on the housing market before the council meets again"
    with db.session() as s:
        other = create_site(s, name="Flood", callback_url=None, allow_private=True)
        _flood(s, neardup.signature(text), other.site_id, 4 * neardup.BUCKET_READ)
    comment_id, decision = post(db, site.site_id, text)
    with db.session() as s:
        [result] = assess(s, [s.get(Comment, comment_id)], db.settings)
    [dup] = [x for x in result.signals if x.code == "spam_duplicate"]
    assert dup.contribution == 4.5
    assert decision["action"] != "approve"
