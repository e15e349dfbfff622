"""The bench corpus mixer: distinct rows, the spam share, never more rows than asked."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_corpus", Path(__file__).resolve().parents[2] / "bench" / "corpus.py"
)
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)


def rows(kind, n):
    return [{"kind": kind, "text": f"{kind} number {i}"} for i in range(n)]


def test_the_mix_is_distinct_and_about_one_in_twelve_spam():
    mixed = corpus.mix(rows("comment", 2000), rows("spam", 500), 1000)
    assert len(mixed) == 1000
    assert len({r["text"] for r in mixed}) == 1000
    assert sum(r["kind"] == "spam" for r in mixed) == 80
    # Shuffled: the spam is not all at one end.
    assert any(r["kind"] == "spam" for r in mixed[:100])


def test_the_mix_gives_fewer_rows_rather_than_repeats():
    mixed = corpus.mix(rows("comment", 50), rows("spam", 3), 1000)
    assert len(mixed) == 53 and len({r["text"] for r in mixed}) == 53


def test_the_same_seed_gives_the_same_corpus():
    a = corpus.mix(rows("comment", 300), rows("spam", 30), 200)
    b = corpus.mix(rows("comment", 300), rows("spam", 30), 200)
    assert a == b
