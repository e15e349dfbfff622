"""Training data handling: SMS header rows, de-duplication, site labels."""

from __future__ import annotations

from civil.spam.training.train import Example, dedupe, read_sms, site_examples


def test_read_sms_skips_header_rows(tmp_path):
    path = tmp_path / "sms.tsv"
    path.write_text("label\ttext\nLabel\tSMS\nham\tOk lar\nspam\tFree entry in 2 a wkly comp\n")
    rows = read_sms(path)
    assert [(r.text, r.spam, r.group) for r in rows] == [
        ("Ok lar", 0, "sms"),
        ("Free entry in 2 a wkly comp", 1, "sms"),
    ]


def test_dedupe_keeps_the_first_and_drops_contradictions():
    rows = [
        Example("Check out my channel!", 1, "psy"),
        Example("check out my  CHANNEL!", 1, "katyperry"),  # same text after cleaning
        Example("Love this song", 0, "psy"),
        Example("love this song", 1, "eminem"),  # labelled both ways: dropped
        Example("   ", 0, "psy"),
    ]
    kept = dedupe(rows)
    assert [(r.text, r.group) for r in kept] == [("Check out my channel!", "psy")]


def test_site_labels_weigh_more_and_win_over_shared_rows():
    site = site_examples([("Cheap tickets at tix.example", "spam"), ("", "ham")])
    assert [(e.spam, e.group, e.weight) for e in site] == [(1, "site", 3.0)]
    shared = [Example("cheap tickets at tix.example", 0, "sms")]
    assert dedupe([*site, *shared]) == site
