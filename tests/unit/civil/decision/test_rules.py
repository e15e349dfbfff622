from civil.decision.policy import Policy
from civil.decision.rules import (
    RuleFacts,
    count_links,
    evaluate_rules,
    heuristic_spam_score,
    normalize,
)


def codes(policy: Policy, content: str, *, honeypot=None, facts=RuleFacts(), ctype="text/plain"):
    return [
        h.code
        for h in evaluate_rules(
            policy, content=content, content_type=ctype, honeypot=honeypot, facts=facts
        )
    ]


def test_banned_and_suspect_words_match_whole_words_case_and_width_insensitively():
    policy = Policy.from_dict({"banned_words": ["crook"], "suspect_words": ["rigged vote"]})
    assert codes(policy, "The mayor is a CROOK.") == ["banned_word"]
    assert codes(policy, "The mayor is a ｃｒｏｏｋ") == ["banned_word"]  # fullwidth -> NFKC
    assert codes(policy, "cro\u200bok") == ["banned_word"]  # zero-width space removed
    assert codes(policy, "crooked streets") == []  # whole words only
    assert codes(policy, "that was a rigged   vote") == ["suspect_word"]


def test_links_over_the_limit_hold():
    policy = Policy.from_dict({"max_links": 2})
    body = "see http://a.example http://b.example www.c.example"
    hits = evaluate_rules(
        policy, content=body, content_type="text/plain", honeypot=None, facts=RuleFacts()
    )
    assert [h.code for h in hits] == ["spam_links"] and hits[0].action == "hold"
    assert count_links('<a href="http://x.example">x</a>') == 2


def test_honeypot_rejects():
    hits = evaluate_rules(
        Policy(), content="hi", content_type="text/plain", honeypot="x", facts=RuleFacts()
    )
    assert [(h.code, h.action) for h in hits] == [("spam_honeypot", "reject")]


def test_repeat_and_rates_use_facts():
    facts = RuleFacts(same_text_recent=2, author_last_minute=9, ip_last_minute=30)
    assert codes(Policy(), "hello", facts=facts) == ["spam_repeat", "rate_author", "rate_ip"]
    assert codes(Policy(), "hello", facts=RuleFacts(author_last_minute=5)) == []


def test_html_tags_are_not_words():
    policy = Policy.from_dict({"banned_words": ["span"]})
    assert codes(policy, "<span>fine</span>", ctype="text/html") == []


def test_heuristic_spam_score_rises_with_signals():
    plain = heuristic_spam_score("hello", None, RuleFacts())
    linky = heuristic_spam_score("http://a http://b http://c http://d", None, RuleFacts())
    trap = heuristic_spam_score("hello", "filled", RuleFacts())
    assert plain < 0.05 < linky and trap > 0.9


def test_normalize():
    assert normalize("Ｈｅｌｌｏ\u200d") == "hello"


def test_word_lists_see_through_evasive_spellings():
    policy = Policy.from_dict({"banned_words": ["idiot"], "suspect_words": ["massacre"]})
    assert codes(policy, "you are an 1d10t") == ["banned_word"]  # leetspeak
    assert codes(policy, "you are an i d i o t") == ["banned_word"]  # spaced letters
    assert codes(policy, "you are an \u0456d\u0456\u043et") == ["banned_word"]  # Cyrillic
    assert codes(policy, "a m\u0430ssacre") == ["suspect_word"]
    assert codes(policy, "idiotic remarks") == []  # still whole words only


def test_word_lists_read_the_masked_text_when_given():
    policy = Policy.from_dict({"banned_words": ["massacre"]})
    content = 'The article says "the massacre of forty villagers" and I am heartbroken.'
    masked = content.replace("the massacre of forty villagers", " " * 31)
    hits = evaluate_rules(
        policy,
        content=content,
        content_type="text/plain",
        honeypot=None,
        facts=RuleFacts(),
        words_text=masked,
    )
    assert hits == []
    assert codes(policy, content) == ["banned_word"]  # without the mask it still matches
