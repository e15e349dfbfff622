import json

from civil.toxicity.training import evasion_words


def _write(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")


def _row(text, toxic, source):
    return {"text": text, "labels": {"toxicity": toxic}, "source": source, "lang": "en"}


def test_words_toxic_within_sources_are_kept_and_source_artefacts_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(evasion_words, "MIN_TOXIC", 3)
    # A forum with balanced classes; tweets mostly toxic, where "alaska" is as common in the
    # clean tweets as in the toxic ones: toxic-looking when pooled, not within its source.
    rows = [_row("you idiot", 1, "forum")] * 10 + [_row("rude words", 1, "forum")] * 10
    rows += [_row("nice weather today", 0, "forum")] * 300 + [_row("the idiot box", 0, "forum")] * 2
    rows += [_row("alaska rude", 1, "tweets")] * 40 + [_row("so rude", 1, "tweets")] * 40
    rows += [_row("you idiot", 1, "tweets")] * 10
    rows += [_row("alaska news", 0, "tweets")] * 10 + [_row("hello there", 0, "tweets")] * 10
    train, out = tmp_path / "train.jsonl", tmp_path / "words.txt"
    _write(train, rows)
    counts = evasion_words.read_counts(train)
    assert evasion_words.pooled_log_odds(counts, "alaska") >= evasion_words.MIN_POOLED_LOG_ODDS
    assert evasion_words.stratified_log_odds(counts, "alaska") < 0.5
    words = evasion_words.build(train, out)
    assert "idiot" in words and "alaska" not in words and "weather" not in words
    listed = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert listed == words or sorted(listed) == sorted(words)
    assert set(listed) >= {"fuck", "moron"}  # the lexicon's words are added


def test_check_counts_changed_tokens_of_clean_rows_only(tmp_path, capsys):
    split = tmp_path / "valid.jsonl"
    _write(
        split,
        [
            _row("you are such an idot today", 0, "forum"),
            _row("you are such an idot today", 1, "forum"),
            _row("the form is from Ida", 0, "forum"),
        ],
    )
    comments, tokens, changed, changed_comments = evasion_words.false_corrections([split])
    assert (comments, tokens, changed, changed_comments) == (2, 11, 1, 1)
    assert "idot -> idiot" in capsys.readouterr().out
