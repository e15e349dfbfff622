"""The article-relevance and contact signals: IDF cosine, phone numbers, unrelated links."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from civil.scoring import ScorerUnavailable
from civil.spam.features import SpamInput, contact_cues, extract
from civil.spam.relevance import IDF_BITS, IDF_FILE, Idf, bucket, cosine, idf_table, vector
from civil.spam.scorer import SpamScorer
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel
from civil.spam.training import train
from civil.spam.training.article_eval import marketing
from tests.unit.civil.spam.conftest import BIKE


def _codes(result):
    return {s.code for s in result.signals}


def test_idf_weighs_rare_words_above_words_every_text_has():
    idf = idf_table([["lane", "council"], ["lane"], ["lane", "bake"]])
    weights = idf.weights
    assert weights[bucket("lane")] == pytest.approx(1.0)  # ln(4/4) + 1
    assert weights[bucket("council")] == pytest.approx(math.log(4 / 2) + 1)
    unseen = next(
        b for b in range(1 << IDF_BITS) if b not in {bucket(w) for w in ("lane", "council", "bake")}
    )
    assert weights[unseen] == pytest.approx(math.log(4) + 1)


def test_cosine_by_hand_and_sublinear_term_frequency():
    idf = idf_table([["lane", "council"], ["lane"], ["lane", "bake"]])
    a = vector(["council", "lane"], idf)
    b = vector(["council", "council", "bake"], idf)
    w_council, w_lane, w_bake = (float(idf.weights[bucket(w)]) for w in ("council", "lane", "bake"))
    assert b[bucket("council")] == pytest.approx((1 + math.log(2)) * w_council)
    dot = w_council * (1 + math.log(2)) * w_council
    expected = dot / (
        math.hypot(w_council, w_lane) * math.hypot((1 + math.log(2)) * w_council, w_bake)
    )
    assert cosine(a, b) == pytest.approx(expected)
    assert cosine(b, a) == pytest.approx(expected)
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, vector(["bake"], idf)) == 0.0 and cosine({}, a) == 0.0


def test_idf_table_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="IDF buckets"):
        Idf(np.ones(10, dtype=np.float32))


def test_article_similarity_separates_discussion_from_selling():
    on_topic = extract(
        SpamInput("Protected lanes on Main Street will make cycling safe for my children.", **BIKE)
    )
    selling = extract(
        SpamInput(
            "Choosing the right mattress can transform your sleep. Memory foam adapts.", **BIKE
        )
    )
    assert on_topic.article_similarity is not None and selling.article_similarity is not None
    assert on_topic.article_similarity > 0.3 and selling.article_similarity == 0.0
    assert extract(SpamInput("Protected lanes on Main Street")).article_similarity is None


def test_contact_cues_count_phones_addresses_and_messengers_not_years_or_prices():
    assert contact_cues("Call 0800 123 4567 to claim your prize") == 1
    assert contact_cues("WhatsApp me on +44 7700 900123") == 2
    assert contact_cues("write to sales@tiles.example for a quote") == 1
    assert contact_cues("In 2019 the lanes cost 2,400,000 dollars; 40 spaces went in 2021.") == 0


def test_unrelated_link_and_contact_signals_raise_the_probability(scorer):
    polite = SpamInput(
        "Choosing the right mattress can transform your sleep. Memory foam adapts to your "
        "body while pocket springs keep you cool. http://sleepwell.example",
        **BIKE,
    )
    sourced = SpamInput(
        "The council minutes say the protected lanes on Main Street remove 40 parking "
        "spaces: https://council.example.gov/minutes",
        **BIKE,
    )
    spam, ham = scorer.score_batch([polite, sourced])
    assert {"spam_unrelated_link", "spam_offtopic_words"} <= _codes(spam)
    assert "spam_unrelated_link" not in _codes(ham) and "spam_ontopic" in _codes(ham)
    assert spam.probability > ham.probability + 0.3
    blind = scorer.score_batch([replace(polite, article_title=None, article_text=None)])[0]
    assert spam.probability > blind.probability
    (off,) = scorer.score_batch([polite], None, frozenset({"relevance", "offtopic"}))
    assert off.probability < spam.probability and not _codes(off) & {
        "spam_unrelated_link",
        "spam_offtopic_words",
    }
    texted = SpamInput("Lovely weather for it. Text me on 07700 900 123 for cheap tickets")
    (contact,) = scorer.score_batch([texted])
    assert "spam_contact" in _codes(contact)


def test_the_idf_table_travels_with_the_model(tmp_path):
    model = SpamTextModel.load(DEFAULT_DIR)
    assert model.idf is not None, "the shipped model carries its IDF table"
    idf = idf_table([["tile", "grout"], ["tile"]])
    rows = [train.Example(t, s, "x") for t, s in [("buy tiles now", 1), ("nice lanes", 0)] * 6]
    fitted = train.fit(rows, article_idf=idf, folds=2)
    train.publish(fitted, tmp_path / "m")
    assert (tmp_path / "m" / IDF_FILE).exists()
    loaded = SpamTextModel.load(tmp_path / "m")
    assert loaded.idf is not None and np.allclose(loaded.idf.weights, idf.weights, rtol=1e-3)
    item = SpamInput("tile grout", article_text="tile shop")
    assert SpamScorer(loaded).score_batch([item])[0].probability >= 0
    np.savez_compressed(tmp_path / "m" / IDF_FILE, idf=np.ones(7, dtype=np.float16))
    with pytest.raises(ScorerUnavailable, match="IDF"):
        SpamTextModel.load(tmp_path / "m")


def test_marketing_filter_for_the_built_evaluation():
    assert marketing("Call 0800 123 4567 now to claim your free prize")
    assert marketing("check out my channel http://youtube.com/x")
    assert not marketing("I love this song so much, it reminds me of summer")


def test_a_copy_posted_elsewhere_gets_no_on_topic_credit():
    from civil.spam.scorer import SpamFacts, combine

    f = extract(
        SpamInput("Protected lanes on Main Street will make cycling safe for my children.", **BIKE)
    )
    alone = combine(-1.0, f, SpamFacts())
    copied = combine(-1.0, f, SpamFacts(near_duplicates=2))
    assert "spam_ontopic" in _codes(alone) and "spam_ontopic" not in _codes(copied)
    assert "spam_duplicate" in _codes(copied) and copied.probability > alone.probability
