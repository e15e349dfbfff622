from civil.decision.quoting import mask_quotes
from civil.decision.rules import plain_text

ARTICLE = (
    "Police said the gunman opened fire at the crowded market, killing twelve people, before "
    "officers shot him dead. Witnesses described a massacre as families ran for cover."
)


def test_quoted_article_passage_is_blanked_keeping_offsets():
    comment = (
        '"the gunman opened fire at the crowded market" - horrifying, my thoughts are with them'
    )
    masked = mask_quotes(comment, inline_quote=None, article_text=ARTICLE)
    assert len(masked.text) == len(comment)
    assert "gunman" not in masked.text and "horrifying" in masked.text
    [(start, end)] = masked.spans
    assert comment[start:end] == "the gunman opened fire at the crowded market"


def test_inline_quote_is_masked_even_when_short():
    comment = "killing twelve people? You journalists are vultures."
    masked = mask_quotes(comment, inline_quote="killing twelve people", article_text=None)
    assert masked.text.strip().startswith("?")
    assert "vultures" in masked.text


def test_own_words_are_not_masked():
    comment = "The police did a good job and the market should reopen soon."
    assert mask_quotes(comment, inline_quote=None, article_text=ARTICLE).spans == []


def test_html_plain_text_keeps_offsets():
    content = "<p>You are an <b>idiot</b> &amp; a fool</p>"
    text = plain_text(content, "text/html")
    assert len(text) == len(content)
    assert text.index("idiot") == content.index("idiot")
    assert "<" not in text and "&amp;" not in text and "&" in text
