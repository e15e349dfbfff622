"""Measure the spam scorer: a labelled CSV, leave-one-video-out, off-topic comments, ablation.

``evaluate_csv`` backs ``civil models evaluate-spam``. ``report`` produces every number in the
model card: each YouTube video is held out in turn (its text model trained on the other three
and SMS) and replayed in time order as a new site, so the stateful signals (velocity,
near-duplicates, reputation from moderators' labels) see only earlier comments; the article
comment set is scored with its articles; each signal family is then switched off in turn.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from civil.spam import neardup, train
from civil.spam.features import SpamInput, extract
from civil.spam.scorer import FAMILIES, NEAR_DUP_JACCARD, SpamFacts, SpamScorer
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel

EVAL_DIR = DEFAULT_DIR / "eval"
BLOG_CSV = EVAL_DIR / "blog_comments.csv"
TEXT_COLUMNS = ("content", "text", "CONTENT", "comment_text", "SMS")
LABEL_COLUMNS = ("label", "CLASS", "spam", "Label")
THRESHOLD = 0.5


@dataclass(frozen=True)
class Labelled:
    """A comment with its label and, for replays, who posted it when."""

    item: SpamInput
    spam: int
    group: str = ""
    author: str = ""
    at: datetime | None = None
    style: str = ""


def metrics(
    y: Sequence[int], p: Sequence[float] | np.ndarray, threshold: float = THRESHOLD
) -> dict:
    """Precision, recall, F1 at ``threshold`` and ROC-AUC."""
    y_arr, p_arr = np.asarray(y), np.asarray(p)
    hard = p_arr >= threshold
    both = len(set(y_arr.tolist())) == 2
    return {
        "n": len(y_arr),
        "spam": int(y_arr.sum()),
        "precision": round(float(precision_score(y_arr, hard, zero_division=0)), 4),
        "recall": round(float(recall_score(y_arr, hard, zero_division=0)), 4),
        "f1": round(float(f1_score(y_arr, hard, zero_division=0)), 4),
        "roc_auc": round(float(roc_auc_score(y_arr, p_arr)), 4) if both else None,
    }


def _label(raw: str) -> int:
    value = raw.strip().lower()
    if value in ("1", "spam", "true"):
        return 1
    if value in ("0", "ham", "false"):
        return 0
    raise ValueError(f"label must be 1/0 or spam/ham, not {raw!r}")


def read_csv(path: Path) -> list[Labelled]:
    """Rows with a text and a label column; article/author columns are used when present.

    An ``article`` column names an entry of ``articles.json`` beside the CSV (title, text).
    """
    articles: dict[str, dict[str, str]] = {}
    if (path.parent / "articles.json").exists():
        articles = json.loads((path.parent / "articles.json").read_text())
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        text_col = next((c for c in TEXT_COLUMNS if c in columns), None)
        label_col = next((c for c in LABEL_COLUMNS if c in columns), None)
        if text_col is None or label_col is None:
            raise ValueError(
                f"{path} needs a text column ({', '.join(TEXT_COLUMNS)}) and a label column "
                f"({', '.join(LABEL_COLUMNS)}); it has {columns}"
            )
        rows = []
        for row in reader:
            article = articles.get(row.get("article") or "", {})
            item = SpamInput(
                content=row[text_col],
                author_name=row.get("author_name") or row.get("AUTHOR") or None,
                author_email=row.get("author_email") or None,
                author_url=row.get("author_url") or None,
                honeypot=row.get("honeypot") or None,
                article_title=row.get("article_title") or article.get("title"),
                article_text=row.get("article_text") or article.get("text"),
            )
            rows.append(
                Labelled(
                    item,
                    _label(row[label_col]),
                    row.get("article") or "",
                    style=row.get("style", ""),
                )
            )
    return rows


def evaluate_csv(
    path: Path, model_dir: Path = DEFAULT_DIR, out: Callable[[str], None] = print
) -> dict:
    """Score a labelled CSV with the full scorer (no stored history) and print the metrics."""
    rows = read_csv(Path(path))
    scorer = SpamScorer(SpamTextModel.load(model_dir))
    probabilities = [r.probability for r in scorer.score_batch([r.item for r in rows])]
    result = metrics([r.spam for r in rows], probabilities)
    out(
        f"{path}: n={result['n']} spam={result['spam']} precision={result['precision']:.4f} "
        f"recall={result['recall']:.4f} f1={result['f1']:.4f} roc_auc={result['roc_auc']}"
    )
    return result


def _youtube_rows(root: Path) -> list[Labelled]:
    rows = []
    for path in sorted((root / "youtube").glob("*.csv")):
        group = path.stem.split("-", 1)[-1].lower()
        with path.open(encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                at = datetime.fromisoformat(r["DATE"][:19]) if r.get("DATE") else None
                rows.append(
                    Labelled(
                        SpamInput(content=r["CONTENT"], author_name=r["AUTHOR"]),
                        int(r["CLASS"]),
                        group,
                        r["AUTHOR"],
                        at,
                    )
                )
    return rows


def replay_facts(rows: Sequence[Labelled], everyone: Sequence[Labelled]) -> list[SpamFacts]:
    """Facts each comment of one site would get if moderators labelled every earlier one.

    ``rows`` is the site (one video), ``everyone`` all videos: copies posted on other videos
    count as near-duplicates on other sites, but only the site's own labels count.
    """
    features = [extract(r.item) for r in rows]
    signatures = [neardup.signature(f.model_text) for f in features]
    others = [r for r in everyone if r.group != (rows[0].group if rows else "")]
    other_sigs = [(r, neardup.signature(extract(r.item).model_text)) for r in others]
    order = sorted(range(len(rows)), key=lambda i: rows[i].at or datetime.min)
    facts: list[SpamFacts] = [SpamFacts()] * len(rows)
    seen: list[int] = []
    for i in order:
        row, at = rows[i], rows[i].at or datetime.min
        recent = [j for j in seen if at - (rows[j].at or datetime.min) <= timedelta(minutes=10)]
        hour = [j for j in seen if at - (rows[j].at or datetime.min) <= timedelta(hours=1)]
        domains = set(features[i].domains)
        sig = signatures[i]
        spam_sim = ham_sim = 0.0
        copies = 0
        if sig is not None:
            for j in seen:
                if signatures[j] is not None:
                    sim = neardup.jaccard(sig, signatures[j])  # type: ignore[arg-type]
                    if rows[j].spam:
                        spam_sim = max(spam_sim, sim)
                    else:
                        ham_sim = max(ham_sim, sim)
            copies = sum(
                1
                for r, s in other_sigs
                if s is not None
                and r.at is not None
                and timedelta(0) <= at - r.at <= neardup.WINDOW
                and neardup.jaccard(sig, s) >= NEAR_DUP_JACCARD
            )
        reputation: dict[tuple[str, str], list[int]] = {}
        for j in seen:
            keys = [("link_domain", d) for d in features[j].domains if d in domains]
            if rows[j].author == row.author:
                keys.append(("email", row.author))
            for key in keys:
                reputation.setdefault(key, [0, 0])[0 if rows[j].spam else 1] += 1
        facts[i] = SpamFacts(
            author_recent=sum(1 for j in recent if rows[j].author == row.author),
            domain_recent=max(
                (sum(1 for j in hour if d in features[j].domains) for d in domains), default=0
            ),
            near_duplicates=min(copies, 3),
            labelled_spam_similarity=spam_sim,
            labelled_ham_similarity=ham_sim,
            reputation=tuple((k, v, s, h) for (k, v), (s, h) in sorted(reputation.items())),
        )
        seen.append(i)
    return facts


def _baseline(train_texts: list[str], y: list[int], test_texts: list[str]) -> np.ndarray:
    """Plain TF-IDF + logistic regression, the issue's reference point."""
    vectorizer = TfidfVectorizer()
    model = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(train_texts), y)
    return model.predict_proba(vectorizer.transform(test_texts))[:, 1]


def _ablation(
    scorer: SpamScorer, items: list[SpamInput], y: list[int], facts: list[SpamFacts] | None
) -> dict[str, dict]:
    out = {"all": metrics(y, [r.probability for r in scorer.score_batch(items, facts)])}
    for family in FAMILIES:
        disabled = frozenset({family})
        scored = scorer.score_batch(items, facts, disabled)
        out[f"-{family}"] = metrics(y, [r.probability for r in scored])
    return out


def leave_one_video_out(root: Path = train.DEFAULT_DATA) -> dict:
    """Per held-out video: baseline, text model alone, content signals, and the full replay."""
    shared = train.load_shared(root)
    youtube = _youtube_rows(root)
    per_video: dict[str, dict] = {}
    for video in sorted({r.group for r in youtube}):
        held = [r for r in youtube if r.group == video]
        rest = [e for e in shared if e.group != video]
        model = train.fit(rest)
        scorer = SpamScorer(model)
        items, y = [r.item for r in held], [r.spam for r in held]
        facts = replay_facts(held, youtube)
        text_only = frozenset(FAMILIES) - {"text"}
        per_video[video] = {
            "tfidf_lr_baseline": metrics(
                y,
                _baseline(
                    [e.text for e in rest], [e.spam for e in rest], [i.content for i in items]
                ),
            ),
            "text_model": metrics(
                y, [r.probability for r in scorer.score_batch(items, None, text_only)]
            ),
            "content_signals": metrics(y, [r.probability for r in scorer.score_batch(items)]),
            "full_replay": metrics(y, [r.probability for r in scorer.score_batch(items, facts)]),
            "ablation": _ablation(scorer, items, y, facts),
        }
    return per_video


def offtopic(
    path: Path = BLOG_CSV, model_dir: Path = DEFAULT_DIR, root: Path = train.DEFAULT_DATA
) -> dict:
    """Article comments: baseline, text model alone, full scorer, and the ablation."""
    rows = read_csv(path)
    scorer = SpamScorer(SpamTextModel.load(model_dir))
    items, y = [r.item for r in rows], [r.spam for r in rows]
    shared = train.load_shared(root)
    without_article = [replace(i, article_title=None, article_text=None) for i in items]
    text_only = frozenset(FAMILIES) - {"text"}
    # Ham plus only the polite marketing comments: the case text models trained elsewhere miss.
    polite = [i for i, r in enumerate(rows) if r.style in ("ham", "polite")]
    polite_y = [y[i] for i in polite]
    polite_full = scorer.score_batch([items[i] for i in polite])
    polite_text = scorer.score_batch([items[i] for i in polite], None, text_only)
    return {
        "polite_only": {
            "tfidf_lr_baseline": metrics(
                polite_y,
                _baseline(
                    [e.text for e in shared],
                    [e.spam for e in shared],
                    [items[i].content for i in polite],
                ),
            ),
            "text_model": metrics(polite_y, [r.probability for r in polite_text]),
            "full": metrics(polite_y, [r.probability for r in polite_full]),
        },
        "tfidf_lr_baseline": metrics(
            y,
            _baseline(
                [e.text for e in shared], [e.spam for e in shared], [i.content for i in items]
            ),
        ),
        "text_model": metrics(
            y, [r.probability for r in scorer.score_batch(items, None, text_only)]
        ),
        "full_without_article": metrics(
            y, [r.probability for r in scorer.score_batch(without_article)]
        ),
        "full": metrics(y, [r.probability for r in scorer.score_batch(items)]),
        "ablation": _ablation(scorer, items, y, None),
    }


def report(out_path: Path | None = None) -> dict:
    """Every number in the model card, as JSON (written to ``out_path`` when given)."""
    result = {"leave_one_video_out": leave_one_video_out(), "article_comments": offtopic()}
    if out_path is not None:
        Path(out_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(report(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
