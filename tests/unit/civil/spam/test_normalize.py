"""Evasions are undone before scoring, so they can only raise a spam score."""

from __future__ import annotations

import pytest

from civil.spam.features import SpamInput, extract
from civil.spam.normalize import clean, restore_urls

PLAIN = "Cheap pills at cheap-meds.com, order today"


@pytest.mark.parametrize(
    ("written", "restored"),
    [
        ("visit cheap-meds[.]com", "visit cheap-meds.com"),
        ("visit cheap-meds(dot)com", "visit cheap-meds.com"),
        ("visit cheap-meds (dot) com", "visit cheap-meds.com"),
        ("visit cheap-meds{.}com", "visit cheap-meds.com"),
        ("visit shop (dot) cheap-meds (dot) com", "visit shop.cheap-meds.com"),
        ("visit cheap-meds . com", "visit cheap-meds.com"),
        ("visit cheap-meds. net", "visit cheap-meds.net"),
        ("go to w w w . cheap-meds . com", "go to www.cheap-meds.com"),
        ("hxxps://cheap-meds.com/buy", "https://cheap-meds.com/buy"),
        ("h t t p : / / cheap-meds.ru", "http://cheap-meds.ru"),
    ],
)
def test_obfuscated_urls_are_restored(written, restored):
    text, count = restore_urls(written)
    assert text == restored and count >= 1


@pytest.mark.parametrize(
    "prose",
    [
        "The end. Comments are welcome.",
        "Thanks to all of us. Me, I think it worked.",
        "I paid 3.50 for a coffee. Com-pletely worth it.",
        "I went to the store. Shop owners were angry.",
    ],
)
def test_prose_is_not_turned_into_urls(prose):
    assert restore_urls(prose) == (prose, 0)


def test_unicode_tricks_are_undone_and_flagged():
    zero_width = clean("Ch\u200beap p\u200bills")
    assert zero_width.text == "Cheap pills" and zero_width.unicode_tricks
    fullwidth = clean("\uff43\uff48\uff45\uff41\uff50 pills")  # full-width "cheap"
    assert fullwidth.text == "cheap pills" and fullwidth.unicode_tricks
    cyrillic = clean("Buy \u0441heap vi\u0430gra")  # Cyrillic es and a inside Latin words
    assert cyrillic.text == "Buy cheap viagra" and cyrillic.unicode_tricks


def test_innocent_unicode_is_not_an_evasion():
    assert not clean("\ufeffCafé crème… très bon 👍").unicode_tricks
    assert not clean("Москва — столица России").unicode_tricks  # real Cyrillic text


@pytest.mark.parametrize(
    "evasive",
    [
        "Cheap pills at cheap-meds[.]com, order today",
        "Ch\u200beap pi\u200blls at cheap-meds(dot)com, order today",
        "\uff23\uff48\uff45\uff41\uff50 pills at cheap-meds . com, order today",
        "\u0421heap pi\u04cfls at cheap-meds{.}com, \u043erder today",  # Cyrillic look-alikes
    ],
)
def test_evasions_never_lower_the_score(scorer, evasive):
    plain, dodged = scorer.score_batch([SpamInput(PLAIN), SpamInput(evasive)])
    assert extract(SpamInput(evasive)).domains == ("cheap-meds.com",)
    assert dodged.probability >= plain.probability


def test_long_runs_of_address_like_text_are_cleaned_in_linear_time():
    import time

    # CPU time, not wall time: a busy machine must not fail it. Linear is ~0.04 s here; the
    # quadratic backtracking this guards against took minutes.
    began = time.process_time()
    clean("a@b." * 10_000)  # 40k characters: thousands of candidates, thousands of addresses
    assert time.process_time() - began < 1.0
    # Addresses and URLs stay as written; leetspeak next to them is still undone.
    assert clean("m0ney at x@sp4m.example and https://sp4m.example/fr33 now").model_text == (
        "money at x@sp4m.example and https://sp4m.example/fr33 now"
    )
