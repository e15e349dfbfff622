"""Measure the spam scorer: a labelled CSV, leave-one-video-out, off-topic comments, ablation.

``evaluate_csv`` backs ``civil models evaluate-spam``. ``report`` produces every number in the
model card: each YouTube video is held out in turn (its text model trained on the other three
and SMS) and replayed in time order as a new site, so the stateful signals (velocity,
near-duplicates, reputation from moderators' labels) see only earlier comments; the article
comment set is scored with its articles; each signal family is then switched off in turn.
``calibration`` measures how far the full scorer's probability is from observed spam rates
(Brier, log loss, ECE, a reliability table, and what the policy's spam tiers hold), and the
report checks what a Platt calibration of the summed log-odds, fitted out of fold, would change.
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

from civil.decision.policy import Policy
from civil.spam import neardup
from civil.spam.features import SpamInput, extract
from civil.spam.scorer import FAMILIES, NEAR_DUP_JACCARD, SpamFacts, SpamScorer
from civil.spam.textmodel import DEFAULT_DIR, SpamTextModel
from civil.spam.training import train

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


def calibration(
    y: Sequence[int], p: Sequence[float] | np.ndarray, bins: int = 10, policy: Policy | None = None
) -> dict:
    """How well ``p`` matches observed spam rates.

    Brier score, log loss (natural log, probabilities held within [1e-6, 1 - 1e-6]), expected
    calibration error over ``bins`` equal-width bins (bin k holds k/bins <= p < (k+1)/bins, the
    last one includes 1; each bin's |mean p - spam rate| weighted by its share of rows), the
    reliability table (empty bins left out), and for the policy's spam tiers (hold, reject,
    discard) the rows that land in each and their observed spam rate, plus the share of ham
    and of spam at or above the discard threshold.
    """
    policy = policy or Policy()
    y_arr, p_arr = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    held = np.clip(p_arr, 1e-6, 1 - 1e-6)
    log_loss = -np.mean(y_arr * np.log(held) + (1 - y_arr) * np.log(1 - held))
    index = np.minimum((p_arr * bins).astype(int), bins - 1)
    ece, table = 0.0, []
    for k in range(bins):
        inside = index == k
        if not inside.any():
            continue
        mean_p, rate = float(p_arr[inside].mean()), float(y_arr[inside].mean())
        ece += inside.sum() / len(p_arr) * abs(mean_p - rate)
        table.append(
            {
                "bin": f"{k / bins:.1f}-{(k + 1) / bins:.1f}",
                "mean_predicted": round(mean_p, 4),
                "observed_spam_rate": round(rate, 4),
                "n": int(inside.sum()),
            }
        )
    discard = policy.spam_discard_threshold or 1.01
    edges = (
        ("hold", policy.spam_hold_threshold, policy.spam_threshold),
        ("reject", policy.spam_threshold, discard),
        ("discard", discard, 1.01),
    )
    tiers = {}
    for name, low, high in edges:
        inside = (p_arr >= low) & (p_arr < high)
        tiers[name] = {
            "from": low,
            "n": int(inside.sum()),
            "mean_predicted": round(float(p_arr[inside].mean()), 4) if inside.any() else None,
            "observed_spam_rate": round(float(y_arr[inside].mean()), 4) if inside.any() else None,
        }
    ham, spam = p_arr[y_arr == 0], p_arr[y_arr == 1]
    return {
        "n": len(p_arr),
        "brier": round(float(np.mean((p_arr - y_arr) ** 2)), 4),
        "log_loss": round(float(log_loss), 4),
        "ece": round(float(ece), 4),
        "reliability": table,
        "tiers": tiers,
        "ham_at_discard": round(float(np.mean(ham >= discard)), 4) if len(ham) else None,
        "spam_at_discard": round(float(np.mean(spam >= discard)), 4) if len(spam) else None,
    }


def _probability(z: np.ndarray) -> np.ndarray:
    """The scorer's probability of summed log-odds (rounded like ``combine`` rounds it)."""
    return np.round(1.0 / (1.0 + np.exp(-z)), 4)


def _platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and offset of a 1-D logistic regression on the summed log-odds."""
    model = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def platt_out_of_fold(folds: dict[str, tuple[list[int], list[float]]]) -> dict:
    """What a Platt calibration of the summed log-odds would change, measured honestly.

    ``folds`` maps each held-out video to its labels and full-scorer log-odds. Each video is
    scored with a slope and offset fitted on the other videos only; ``all_folds`` is what
    would ship (fitted on every video). ``pooled_after`` compares with the report's
    ``calibration.leave_one_video_out_pooled`` (the same rows before calibration).
    """
    labels, after_p, per_fold, params = [], [], {}, {}
    for video, (y, z) in folds.items():
        rest_z = np.concatenate([np.asarray(folds[v][1]) for v in folds if v != video])
        rest_y = np.concatenate([np.asarray(folds[v][0]) for v in folds if v != video])
        slope, offset = _platt(rest_z, rest_y)
        params[video] = [round(slope, 4), round(offset, 4)]
        calibrated = _probability(slope * np.asarray(z) + offset)
        raw = _probability(np.asarray(z))
        per_fold[video] = {"before": metrics(y, raw), "after": metrics(y, calibrated)}
        labels += list(y)
        after_p += calibrated.tolist()
    all_z = np.concatenate([np.asarray(z) for _, z in folds.values()])
    slope, offset = _platt(all_z, np.asarray(labels))
    mean = {
        side: {
            key: round(float(np.mean([per_fold[v][side][key] for v in per_fold])), 4)
            for key in ("f1", "roc_auc")
        }
        for side in ("before", "after")
    }
    return {
        "fold_parameters": params,
        "all_folds": [round(slope, 4), round(offset, 4)],
        "per_video": per_fold,
        "mean_per_video": mean,
        "pooled_after": calibration(labels, after_p),
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


def leave_one_video_out(
    root: Path = train.DEFAULT_DATA,
    log_odds: dict[str, tuple[list[int], list[float]]] | None = None,
) -> dict:
    """Per held-out video: baseline, text model alone, content signals, and the full replay.

    The full replay's calibration is measured per video; its labels and summed log-odds are
    put in ``log_odds`` (by video) when given, for the pooled measures.
    """
    shared = train.load_training(root)
    youtube = _youtube_rows(root)
    idf, _ = train.shared_idf(Path(root))
    per_video: dict[str, dict] = {}
    for video in sorted({r.group for r in youtube}):
        held = [r for r in youtube if r.group == video]
        rest = [e for e in shared if e.group != video]
        # The reference reads the spam collections only, as the baseline did.
        reference = [e for e in rest if e.group not in train.COMMENT_HAM_GROUPS]
        model = train.fit(rest, article_idf=idf)
        scorer = SpamScorer(model)
        items, y = [r.item for r in held], [r.spam for r in held]
        facts = replay_facts(held, youtube)
        text_only = frozenset(FAMILIES) - {"text"}
        full = scorer.score_batch(items, facts)
        if log_odds is not None:
            log_odds[video] = (y, [r.log_odds for r in full])
        per_video[video] = {
            "tfidf_lr_baseline": metrics(
                y,
                _baseline(
                    [e.text for e in reference],
                    [e.spam for e in reference],
                    [i.content for i in items],
                ),
            ),
            "text_model": metrics(
                y, [r.probability for r in scorer.score_batch(items, None, text_only)]
            ),
            "content_signals": metrics(y, [r.probability for r in scorer.score_batch(items)]),
            "full_replay": metrics(y, [r.probability for r in full]),
            "full_replay_calibration": calibration(y, [r.probability for r in full]),
            "ablation": _ablation(scorer, items, y, facts),
        }
    return per_video


def offtopic(
    path: Path = BLOG_CSV,
    model_dir: Path = DEFAULT_DIR,
    root: Path = train.DEFAULT_DATA,
    platt: tuple[float, float] | None = None,
) -> dict:
    """Article comments: baseline, text model alone, full scorer, its calibration, ablation.

    With ``platt`` (slope, offset) the full scorer's calibration is also measured after that
    Platt map of its summed log-odds.
    """
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
    full = scorer.score_batch(items)
    measured = {"before": calibration(y, [r.probability for r in full])}
    if platt is not None:
        z = np.array([r.log_odds for r in full])
        after = _probability(platt[0] * z + platt[1])
        measured["after_platt"] = {**calibration(y, after), **metrics(y, after)}
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
        "full": metrics(y, [r.probability for r in full]),
        "full_calibration": measured,
        "ablation": _ablation(scorer, items, y, None),
    }


def report(out_path: Path | None = None) -> dict:
    """The YouTube, hand-written and calibration numbers (``civil.spam.training.report``
    adds the leave-one-source-out article comments), as JSON (to ``out_path`` when given)."""
    log_odds: dict[str, tuple[list[int], list[float]]] = {}
    per_video = leave_one_video_out(log_odds=log_odds)
    y = [label for labels, _ in log_odds.values() for label in labels]
    z = np.array([value for _, values in log_odds.values() for value in values])
    platt = platt_out_of_fold(log_odds)
    slope, offset = platt["all_folds"]
    result = {
        "leave_one_video_out": per_video,
        "leave_one_video_out_summary": {
            key: {
                f"{stat}_{m}": round(float(fn([v[key][m] for v in per_video.values()])), 4)
                for stat, fn in (("mean", np.mean), ("min", np.min))
                for m in ("f1", "roc_auc")
            }
            for key in ("tfidf_lr_baseline", "text_model", "content_signals", "full_replay")
        },
        "article_comments": offtopic(platt=(slope, offset)),
        "calibration": {
            "leave_one_video_out_pooled": calibration(y, _probability(z)),
            "platt_out_of_fold": platt,
        },
    }
    if out_path is not None:
        Path(out_path).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    import sys

    print(json.dumps(report(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
