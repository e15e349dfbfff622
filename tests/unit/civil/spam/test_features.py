"""One test per self-contained signal, on real-looking comments: the signal fires and raises p."""

from __future__ import annotations

from dataclasses import replace

from civil.spam.features import SpamInput, extract, gibberish_score, registrable_domain
from tests.unit.civil.spam.conftest import BIKE


def _codes(result):
    return {s.code for s in result.signals}


def test_links_shorteners_ratio_and_domains(scorer):
    plain = SpamInput("Great interview with the mayor, she answered every question directly.")
    linky = SpamInput(
        "Great interview! more at https://bit.ly/3xYzAb and www.deals.shop.example.xyz/offer"
    )
    f = extract(linky)
    assert f.domains == ("bit.ly", "example.xyz") and f.shorteners == 1
    assert f.suspicious_tlds == 1 and f.link_char_ratio > 0.3
    low, high = scorer.score_batch([plain, linky])
    assert {"spam_links", "spam_shortener", "spam_tld"} <= _codes(high)
    assert high.probability > low.probability + 0.3


def test_html_anchor_counts_as_a_link():
    item = SpamInput(
        '<p>Nice read. <a href="http://cheap-loans.example.com/x">click</a></p>', "text/html"
    )
    assert extract(item).domains == ("example.com",)


def test_registrable_domain_keeps_country_suffixes():
    assert registrable_domain("shop.example.co.uk") == "example.co.uk"
    assert registrable_domain("WWW.Example.com:8080") == "example.com"


def test_disposable_email_from_the_maintained_list(scorer):
    base = SpamInput("Interesting take on the budget, thanks.", author_email="jo@gmail.com")
    burner = replace(base, author_email="jo1987@mailinator.com")
    assert not extract(base).disposable_email and extract(burner).disposable_email
    a, b = scorer.score_batch([base, burner])
    assert "spam_disposable_email" in _codes(b) and b.probability > a.probability


def test_author_url_linked_and_spammy_author_name(scorer):
    base = SpamInput(
        "Useful guide, see my notes at https://renovate-pro.example", author_name="Ann"
    )
    selling = replace(
        base, author_name="Cheap SEO Services Agency", author_url="https://renovate-pro.example"
    )
    f = extract(selling)
    assert f.author_url_linked and f.author_name_spammy
    a, b = scorer.score_batch([base, selling])
    assert {"spam_author_url", "spam_author_name"} <= _codes(b)
    assert b.probability > a.probability


def test_honeypot(scorer):
    item = SpamInput("I agree with the council on this one.")
    a, b = scorer.score_batch([item, replace(item, honeypot="http://x.example")])
    assert "spam_honeypot" in _codes(b) and b.probability > 0.95 > a.probability


def test_gibberish_but_not_elongation_or_interjections(scorer):
    assert gibberish_score("sdfkjh qwrtzp xcvbnm lkjhgf dfghjk") > 0.8
    assert gibberish_score("sooooo goooood, loooove it, wowwwwwww") == 0.0
    assert gibberish_score("hmmm pfff") == 0.0  # too little text to judge
    assert gibberish_score("Ich finde den Artikel wirklich ausgezeichnet geschrieben") == 0.0
    mash = SpamInput("sdfkjh qwrtzp xcvbnm lkjhgf dfghjk")
    words = SpamInput("The lanes are fine but the junction by the bakery is awkward.")
    a, b = scorer.score_batch([words, mash])
    assert "spam_gibberish" in _codes(b) and b.probability > a.probability + 0.3


def test_greeting_only_with_a_link(scorer):
    greeting = SpamInput("Nice post, thanks for sharing!")
    linked = replace(greeting, author_url="http://replica-watches.example")
    substantive = SpamInput(
        "Thanks for sharing, but the parking numbers look wrong to me.",
        author_url="http://blog.example",
    )
    assert extract(greeting).greeting_only and not extract(substantive).greeting_only
    a, b, c = scorer.score_batch([greeting, linked, substantive])
    assert "spam_greeting_link" in _codes(b) and "spam_greeting_link" not in _codes(a)
    assert "spam_greeting_link" not in _codes(c)
    assert b.probability > a.probability


def test_off_topic_selling_is_caught_only_with_the_article(scorer):
    polite = SpamInput(
        "Upgrading to double glazed windows keeps your house warm and quiet. Our fitters are "
        "certified and every window has a ten year warranty.",
        **BIKE,
    )
    on_topic = SpamInput(
        "Forty parking spaces is a lot for the shops near the river. Where do the delivery "
        "vans stop now that the lanes take the kerb?",
        **BIKE,
    )
    f = extract(polite)
    assert f.relevance is not None and f.relevance < 0.1 and f.commercial_cues >= 1
    assert extract(on_topic).relevance >= 0.3
    blind = replace(polite, article_title=None, article_text=None)
    with_article, without, ham = scorer.score_batch([polite, blind, on_topic])
    assert "spam_offtopic" in _codes(with_article) and "spam_offtopic" not in _codes(without)
    assert with_article.probability > without.probability + 0.2
    assert ham.probability < 0.2 and "spam_ontopic" in _codes(ham)


def test_adversarial_long_comments_take_linear_time():
    # Each of these made one regex scan to the end of the text from every position: a 40k-char
    # comment (the API takes 64 KiB bodies) held a worker for seconds to minutes.
    import time

    n = 40_000
    cases = [
        ("a-" * (n // 2), "text/plain"),  # obfuscated-dot patterns, from each letter
        ("a" * n, "text/plain"),  # e-mail pattern, from each letter of a run without "@"
        ("<a " * (n // 3), "text/html"),  # anchor pattern, from each "<a "
        ("<" * n, "text/html"),  # tag pattern, from each "<"
    ]
    for content, content_type in cases:
        began = time.process_time()
        extract(SpamInput(content, content_type))
        assert time.process_time() - began < 1.0, content[:6]


def test_evasions_still_found_after_the_linear_time_patterns():
    f = extract(SpamInput("write to me: x.y+z@mail.example.org or see cheap-pills[.]com now"))
    assert f.domains == ("cheap-pills.com",) and f.obfuscated_links == 1
    html = extract(
        SpamInput('<p>hi <a class="x" href="https://deal.example.com/1">x</a>', "text/html")
    )
    assert html.domains == ("example.com",)
