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


def _write_csv(path, header, rows):
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_comment_ham_leaves_out_the_evaluation_texts_and_is_capped(tmp_path, monkeypatch):
    from civil.spam.training import train

    tox = tmp_path / "toxicity"
    kept = [f"Reader comment number {i} about the council budget" for i in range(5)]
    shared_with_eval = "This talk comment is also in the evaluation file gc.csv"
    _write_csv(
        tox / "toxic-spans" / "comments.csv",
        ["comment_id", "comment_text"],
        [[i, t] for i, t in enumerate([*kept, "too short"])],
    )
    _write_csv(
        tox / "wikipedia-context" / "gn.csv",
        ["id", "text", "parent", "label", "api"],
        [
            ["1", shared_with_eval, "p", "0", "0"],
            ["2", "A rude but genuine talk page reply here", "p", "1", "0"],
        ],
    )
    _write_csv(
        tox / "wikipedia-context" / "gc.csv",
        ["id", "text", "parent", "label", "api"],
        [["9", shared_with_eval, "p", "0", "0"]],
    )
    _write_csv(
        tox / "civil-comments" / "sample.csv", ["n", "toxic", "comment_text"], [[1, 0, kept[0]]]
    )
    monkeypatch.setattr(train, "COMMENT_HAM_CAP", 3)
    rows = train.comment_ham(tmp_path / "spam")
    news = [r for r in rows if r.group == "news-comments"]
    talk = [r for r in rows if r.group == "wikipedia-talk"]
    assert len(news) == 3 and kept[0] not in {r.text for r in news}
    assert {r.text for r in news} <= set(kept[1:])
    assert [r.text for r in talk] == ["A rude but genuine talk page reply here"]  # toxic is ham
    assert all(r.spam == 0 and r.weight == train.COMMENT_HAM_WEIGHT for r in rows)


def test_comment_ham_does_not_move_the_calibration_set():
    import numpy as np

    from civil.spam.training import train

    spam = [Example(f"win a free prize now call {i}", 1, "sms") for i in range(20)]
    ham = [Example(f"see you at lunch {i} ok", 0, "sms") for i in range(20)]
    base = train.fit([*spam, *ham], folds=2)
    extra = [Example(f"the council {i} voted on the budget", 0, "news-comments") for i in range(40)]
    with_ham = train.fit([*spam, *ham, *extra], folds=2)
    # Spam still scores as spam: the added ham is not counted into the calibration prior.
    z = with_ham.logits(["win a free prize now call 3"])
    assert float(z[0]) > 0
    assert np.isfinite(base.meta["platt"][0]) and with_ham.meta["trained_on"]["news-comments"] == 40


def test_youtube_rows_weigh_more_than_sms_and_the_fit_records_it(tmp_path):
    from civil.spam.training import train

    _write_csv(
        tmp_path / "Youtube01-Psy.csv",
        ["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"],
        [["a", "x", "", "check out my channel", "1"], ["b", "y", "", "great song", "0"]],
    )
    rows = train.read_youtube(tmp_path / "Youtube01-Psy.csv")
    assert [(r.group, r.weight) for r in rows] == [("psy", 2.0), ("psy", 2.0)]
    assert train.YOUTUBE_WEIGHT > 1.0  # SMS rows keep the default weight of 1
    sms = [Example(f"see you at lunch {i} ok", 0, "sms") for i in range(10)]
    spam = [Example(f"subscribe to my channel {i} now", 1, "psy", 2.0) for i in range(10)]
    model = train.fit([*spam, *sms], folds=2)
    assert model.meta["row_weights"] == {"psy": 2.0, "sms": 1.0}


def test_a_row_weight_moves_the_fitted_model():
    import numpy as np

    from civil.spam.training import train

    ham = [Example(f"see you at lunch {i} ok", 0, "sms") for i in range(12)]
    spam = [Example(f"call now to win a prize {i}", 1, "sms") for i in range(12)]
    # The same ambiguous text labelled spam once: weighted up, it pulls "lunch" towards spam.
    light = [Example("lunch prize", 1, "psy", 1.0)]
    heavy = [Example("lunch prize", 1, "psy", 8.0)]
    z_light = train.fit([*ham, *spam, *light], folds=2).logits(["lunch prize"])
    z_heavy = train.fit([*ham, *spam, *heavy], folds=2).logits(["lunch prize"])
    assert float(np.asarray(z_heavy)[0]) > float(np.asarray(z_light)[0])
