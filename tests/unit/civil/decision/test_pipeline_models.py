"""The pipeline with the shipped linear model: quote masking, spans, windowed notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from civil.comments import submit_comment
from civil.decision import pipeline
from civil.models import Comment
from civil.schema import CommentIn
from tests.factories import comment_body

MODELS = Path(__file__).resolve().parents[4] / "models"
ARTICLE = (
    "Officials said the militants massacred forty villagers, beheaded the elders and burned "
    "the mosque, and the army vowed to hunt down and kill every terrorist responsible."
)
QUOTE = "the militants massacred forty villagers, beheaded the elders and burned the mosque"


@pytest.fixture(scope="module")
def linear():
    from civil.toxicity.linear import LinearToxicityModel

    return LinearToxicityModel.load(MODELS / "linear")


def decide(db, site, linear, content, **extra):
    body = comment_body(
        content=content, article={"id": "a-war", "title": "Massacre", "text": ARTICLE}, **extra
    )
    sub = submit_comment(db, site.site_id, CommentIn.model_validate(body))
    pipeline.score_comments(db, [(sub.comment_id, sub.revision)], lambda: linear)
    with db.session() as s:
        return s.scalar(select(Comment).where(Comment.id == sub.comment_id)).decision


def codes(decision):
    return [r["code"] for r in decision["reasons"]]


def test_quoting_a_violent_passage_critically_is_not_held(db, site, linear):
    content = f'"{QUOTE}." This is heartbreaking; my thoughts are with the families.'
    decision = decide(db, site, linear, content)
    assert decision["action"] == "approve", decision["reasons"]
    masked = next(r for r in decision["reasons"] if r["code"] == "quote_masked")
    [[start, end]] = masked["spans"]
    assert content[start:end] == QUOTE
    unmasked = linear.score_batch([content])[0]["toxicity"]
    assert decision["scores"]["toxicity"]["toxicity"] < unmasked


def test_quoting_approvingly_is_judged_on_the_readers_own_words(db, site, linear):
    content = f'"{QUOTE}" - and the army will finish the job. Good.'
    decision = decide(db, site, linear, content)
    assert "quote_masked" in codes(decision)
    assert not any(c.startswith("toxic") for c in codes(decision)), decision["reasons"]


def test_quoting_abusively_is_still_toxic_and_spans_point_at_the_abuse(db, site, linear):
    content = f'"{QUOTE}" and you idiot reporters love it, you disgusting stupid pigs.'
    decision = decide(db, site, linear, content)
    assert decision["action"] in {"hold", "reject"}, decision["reasons"]
    toxic = [r for r in decision["reasons"] if r["code"].startswith("toxic")]
    assert toxic and all(r["spans"] for r in toxic)
    quote_end = content.index(QUOTE) + len(QUOTE)
    for reason in toxic:
        for start, end in reason["spans"]:
            assert start >= quote_end  # nothing from the quoted article is blamed
    words = {content[s:e].lower() for r in toxic for s, e in r["spans"]}
    assert words & {"idiot", "stupid", "pigs", "disgusting"}


def test_inline_feedback_passage_is_masked(db, site, linear):
    content = "beheaded the elders - unbearable to read, thank you for reporting it."
    decision = decide(db, site, linear, content, inline_quote="beheaded the elders")
    assert "quote_masked" in codes(decision) and decision["action"] == "approve"


def _ban(db, site, word):
    from civil.models import Site

    with db.session() as s:
        row = s.get(Site, site.site_id)
        row.policy = {**(row.policy or {}), "banned_words": [word]}


def test_quoting_the_articles_banned_word_is_not_rejected(db, site, linear):
    _ban(db, site, "massacred")
    content = f'"{QUOTE}." Heartbreaking; my thoughts are with the families.'
    decision = decide(db, site, linear, content)
    assert "banned_word" not in codes(decision) and decision["action"] == "approve"


def test_using_a_banned_word_in_ones_own_words_is_still_rejected(db, site, linear):
    _ban(db, site, "massacred")
    decision = decide(db, site, linear, "They should be m a s s a c r e d, all of them.")
    assert "banned_word" in codes(decision) and decision["action"] == "reject"
