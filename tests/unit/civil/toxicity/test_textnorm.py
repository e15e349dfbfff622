import pytest

from civil.textnorm import normalize, normalize_text


@pytest.mark.parametrize(
    ("evasive", "plain"),
    [
        ("you are an 1d10t", "you are an idiot"),
        ("$h1t happens", "shit happens"),
        ("what the f@ck", "what the fuck"),
        ("F**K YOU", "FUCK YOU"),
        ("you i d i o t", "you idiot"),
        ("you i.d.i.o.t", "you idiot"),
        ("so stuuuupid", "so stupid"),
        ("you \u200bidi\u200cot", "you idiot"),
        ("you \u0456d\u0456\u043et", "you idiot"),  # Cyrillic i and o look-alikes
        ("\uff26\uff55\uff43\uff4b you", "Fuck you"),  # full-width
        ("\U0001d41f\U0001d42e\U0001d41c\U0001d424", "fuck"),  # mathematical bold
        ("i\u0337d\u0337i\u0337o\u0337t\u0337", "idiot"),  # stacked combining marks
        ("a55hole", "asshole"),
        ("k1ll y0urself", "kill yourself"),
        ("b!tch", "bitch"),
    ],
)
def test_evasions_are_undone(evasive, plain):
    assert normalize_text(evasive) == plain


@pytest.mark.parametrize(
    "text",
    [
        "The vote was 5-2 on the 2nd day.",
        "Mail joe@example.com or see https://x.com/a_b?c=1#frag",
        "I like mp3 files, covid19 data, h1n1 and 4chan.",
        "IEEE, XXX and III stay; so does #f5fffa and @user1.",
        "Wow!!! That's great! $100 and 50% off.",
        "Schöne Grüße aus München",
        "привет как дела",
        "Version 3.x.x and 152.x.x.x",
        "I'm 4 u, C-3PO",
    ],
)
def test_normal_text_survives(text):
    assert normalize_text(text) == text


def test_plain_ascii_has_identity_map():
    result = normalize("nothing to see here")
    assert result.maps == ()
    assert result.span(8, 11) == (8, 11)


def _original(text: str, word: str) -> str:
    result = normalize(text)
    start = result.text.index(word)
    lo, hi = result.span(start, start + len(word))
    return text[lo:hi]


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("hey \u200b\u200bidiot!", "idiot", "idiot"),
        ("hey 1d10t!", "idiot", "1d10t"),
        ("hey i.d.i.o.t ok", "idiot", "i.d.i.o.t"),
        ("so stuuuupid", "stupid", "stuuuupid"),
        ("\uff26\uff55\uff43\uff4b you", "Fuck", "\uff26\uff55\uff43\uff4b"),
        ("\uff26\uff55\uff43\uff4b you", "you", "you"),
        ("id\u200biot here", "idiot", "id\u200biot"),
        ("x i\u0337d\u0337i\u0337o\u0337t\u0337 y", "idiot", "i\u0337d\u0337i\u0337o\u0337t\u0337"),
        ("\u00e9\u00e9 \u0456d\u0456\u043et", "idiot", "\u0456d\u0456\u043et"),
    ],
)
def test_offsets_point_into_the_original(text, word, expected):
    assert _original(text, word) == expected


def test_every_normalised_character_maps_inside_the_original():
    text = "Ｙｏｕ\u200b are a f@cking 1d10t, s t u p i d and stuuuupid\u0301!"
    result = normalize(text)
    for i in range(len(result.text)):
        lo, hi = result.span(i, i + 1)
        assert 0 <= lo < hi <= len(text)
    assert result.span(0, len(result.text)) == (0, len(text))


def test_a_spaced_word_after_the_article_keeps_the_article_apart():
    from civil.textnorm import normalize, normalize_text

    assert normalize_text("You are such a i d i o t.") == "You are such a idiot."
    assert normalize_text("you are a s t u p i d") == "you are a stupid"
    assert normalize_text("i d i o t") == "idiot"  # no article: the whole run is the word
    assert normalize_text("a b c d") == "abcd"  # not a lexicon word either way: unchanged rule
    norm = normalize("such a i d i o t")
    start = norm.text.index("idiot")
    assert norm.span(start, start + 5) == (7, 16)


@pytest.mark.parametrize(
    ("evasive", "plain"),
    [
        ("you are an iidot", "you are an idiot"),  # two letters swapped
        ("You are such a mroon.", "You are such a moron."),
        ("what a colwn you are", "what a clown you are"),
        ("you are an idot", "you are an idiot"),  # a letter dropped
        ("what a clwn you are", "what a clown you are"),
        ("you are anidiot", "you are an idiot"),  # the space before it removed
        ("Shut up, youidiot.", "Shut up, you idiot."),
        ("only aloser would write this", "only a loser would write this"),
        ("Idot. You are an iidot", "Idiot. You are an idiot"),  # a sentence starts
        ("YOU ARE AN IIDOT", "YOU ARE AN IDIOT"),  # shouted, not an acronym
    ],
)
def test_misspelled_and_glued_abuse_is_undone(evasive, plain):
    assert normalize_text(evasive) == plain


@pytest.mark.parametrize(
    "text",
    [
        "The form came from Ida and Jason in the morning.",  # English words and names
        "Please fill in the from and sign it.",
        "Mr Bitsch said the report was late.",  # a capitalised name inside a sentence
        "The SPLC and MAGA are both in the news.",  # acronyms
        "Ask AjaxSmack about the CNTs on that page.",  # identifiers with capitals inside
        "There are sites at www.idot.com, #idot, @idot and the self-idot page.",
        "The haute cuisine of the region is famous.",  # a four-letter word: swaps only
        "Ich bin ein Hase und das ist gut so.",  # not English: nothing is corrected
        "idot",  # no English word around it: the language is unknown
        "pedophiles are arrested",  # an inflection of a list word, not a typo
    ],
)
def test_real_words_and_names_are_left_alone(text):
    assert normalize_text(text) == text


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("so you are an iidot ok", "idiot", "iidot"),
        ("so you are an idot ok", "idiot", "idot"),
        ("so you are anidiot ok", "idiot", "idiot"),
        ("so you are anidiot ok", "an", "an"),
        ("so you are anidiot ok", "ok", "ok"),
    ],
)
def test_typo_offsets_point_into_the_original(text, word, expected):
    assert _original(text, word) == expected


def test_every_character_of_a_split_maps_inside_the_original():
    text = "you are anidiot and a mroon, you iidot"
    result = normalize(text)
    assert result.text == "you are an idiot and a moron, you idiot"
    for i in range(len(result.text)):
        lo, hi = result.span(i, i + 1)
        assert 0 <= lo < hi <= len(text)
    assert result.span(0, len(result.text)) == (0, len(text))


def test_evasion_words_are_loaded_from_the_shipped_list():
    from civil.textnorm import EVASION_WORDS_PATH, evasion_words

    words = evasion_words()
    assert EVASION_WORDS_PATH.is_file()
    assert {"idiot", "moron", "loser"} <= words
    assert "form" not in words and all(len(word) >= 4 for word in words)


def test_an_installed_image_reads_the_list_under_civil_model_dir(tmp_path, monkeypatch):
    from civil import textnorm

    (tmp_path / "evasion_words.txt").write_text("# a header\nnincompoop\n")
    monkeypatch.setenv("CIVIL_MODEL_DIR", str(tmp_path))
    textnorm._vocabulary.cache_clear()
    textnorm._fix_token.cache_clear()
    try:
        assert textnorm.evasion_words() == {"nincompoop"}
        assert normalize_text("you are a nincompop") == "you are a nincompoop"
    finally:
        monkeypatch.delenv("CIVIL_MODEL_DIR")
        textnorm._vocabulary.cache_clear()
        textnorm._fix_token.cache_clear()
    assert "idiot" in textnorm.evasion_words()
