"""Language detection and routing: which model reads a comment, and unsupported languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from civil.decision.policy import Policy
from civil.toxicity.language import (
    UNDETERMINED,
    Detected,
    LanguageDetector,
    LanguageRouter,
)

MODELS = Path(__file__).resolve().parents[4] / "models"


class Fixed:
    def __init__(self, name, value, labels=("toxicity", "insult")):
        self.name, self.value, self.labels, self.calls = name, value, labels, []

    def score_batch(self, texts):
        self.calls.append(list(texts))
        return [dict.fromkeys(self.labels, self.value) for _ in texts]

    def explain(self, text, label):
        return [(0, 2, 1.0)]


class Table:
    def __init__(self, table):
        self.table = table

    def detect(self, text):
        return Detected(*self.table.get(text, (UNDETERMINED, 0.0)))

    def detect_batch(self, texts):
        return [self.detect(t) for t in texts]


def test_router_sends_each_language_to_its_model_and_marks_unsupported():
    english, multi = Fixed("cascade", 0.1), Fixed("multi", 0.9, ("toxicity",))
    detector = Table({"hallo welt": ("de", 0.9), "privet mir": ("ru", 0.8), "hi": ("en", 0.9)})
    router = LanguageRouter(english, multi, detector)  # type: ignore[arg-type]
    out = router.score_batch_routed(["hi", "hallo welt", "privet mir", "ok"])
    assert [r.language for r in out] == ["en", "de", "ru", UNDETERMINED]
    assert [r.model for r in out] == ["cascade", "multilingual-linear", "cascade", "cascade"]
    assert [r.supported for r in out] == [True, True, False, True]
    assert multi.calls == [["hallo welt"]] and english.calls == [["hi", "privet mir", "ok"]]
    assert out[1].scores == {"toxicity": 0.9}
    assert router.explain("hallo welt", "insult") == []  # the multilingual model has no insult
    assert router.name == "cascade"


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ты дурак и идиот, заткнись.", "ru"),
        ("Du bist ein kompletter Idiot und solltest still sein.", "de"),
        ("Tu es vraiment un idiot, tais-toi maintenant.", "fr"),
        ("Você é um idiota completo, cala a boca.", "pt"),
        ("Sen tam bir aptalsın, kapa çeneni artık.", "tr"),
        ("你是个白痴，闭嘴吧，没人想听你说话。", "zh"),
        ("I think the council was wrong about the new bridge.", "en"),
        ("ok thx", UNDETERMINED),
    ],
)
def test_detector_names_the_language_of_ordinary_comments(detector, text, language):
    assert detector.detect(text).language == language


def test_unsupported_language_is_held_with_its_reason_and_a_site_may_approve(db, site):
    from sqlalchemy import select

    from civil.comments import submit_comment
    from civil.decision import pipeline
    from civil.models import Comment, Site
    from civil.schema import CommentIn
    from tests.factories import comment_body

    english = Fixed("cascade", 0.01)
    detector = Table({"Ты дурак и идиот, заткнись.": ("ru", 0.9), "Привет всем!": ("ru", 0.9)})
    router = LanguageRouter(english, Fixed("multi", 0.01, ("toxicity",)), detector)  # type: ignore[arg-type]

    def run(content):
        body = comment_body(content=content)
        sub = submit_comment(db, site.site_id, CommentIn.model_validate(body))
        pipeline.score_comments(db, [(sub.comment_id, sub.revision)], lambda: router)
        with db.session() as s:
            return s.scalar(select(Comment).where(Comment.id == sub.comment_id)).decision

    decision = run("Ты дурак и идиот, заткнись.")
    assert decision["action"] == "hold"
    [reason] = [r for r in decision["reasons"] if r["code"] == "language_unsupported"]
    assert reason["language"] == "ru" and reason["model"] == "cascade"
    with db.session() as s:
        row = s.get(Site, site.site_id)
        row.policy = {**(row.policy or {}), "unsupported_language": "approve"}
    assert Policy.from_dict({"unsupported_language": "approve"}).unsupported_language == "approve"
    decision = run("Привет всем!")  # another text: a repeat would be held as spam
    assert decision["action"] == "approve", decision["reasons"]
    assert "language_unsupported" in [r["code"] for r in decision["reasons"]]


def test_shipped_router_scores_german_with_the_multilingual_model():
    from civil.toxicity.language import LanguageRouter as Router
    from civil.toxicity.loader import load_scorer

    scorer = load_scorer("linear", MODELS)
    from civil.toxicity.linear import LinearToxicityModel

    multi = LinearToxicityModel.load(MODELS / "multilingual")
    router = Router(scorer, multi, LanguageDetector())
    clean, toxic, english = router.score_batch_routed(
        [
            "Ich finde, der Stadtrat hat beim Haushalt gute Arbeit geleistet.",
            "Du bist ein dummes Arschloch, halt endlich die Fresse.",
            "I think the council did good work on the budget.",
        ]
    )
    assert (clean.language, clean.model) == ("de", "multilingual-linear")
    assert toxic.scores["toxicity"] > clean.scores["toxicity"] + 0.3
    assert english.model == "linear" and set(clean.scores) == {"toxicity"}


def test_plain_english_skips_the_detector():
    from civil.toxicity.language import looks_english

    assert looks_english("I think the council was wrong about the new bridge.")
    assert not looks_english("Du bist ein kompletter Idiot und solltest still sein.")
    assert not looks_english("Tu es vraiment un idiot, tais-toi maintenant.")
    assert not looks_english("Jeg tror det vil vaere dejligt, men jeg vil have det svaert.")
    detector = LanguageDetector()
    detector._build = None  # type: ignore[method-assign,assignment]  # must not be needed
    assert detector.detect("What is the point of this article if you do not cite it?") == Detected(
        "en", 1.0
    )
