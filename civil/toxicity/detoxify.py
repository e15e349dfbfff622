"""Toxicity scorers for the workers: Detoxify loaded strictly offline, or a plug-in class.

Where the model files live (nothing is ever downloaded):

- A named model (``original``, ``unbiased``, ``multilingual``, ``original-small``,
  ``unbiased-small``) is read from ``{model_dir}/detoxify/<name>.ckpt``, or failing that from
  the file ``torch.hub`` would have downloaded it to, for example
  ``$TORCH_HOME/hub/checkpoints/toxic_original-c1212f89.ckpt``.
- Any other spec ending in ``.ckpt`` is a Detoxify-format checkpoint; a relative path is taken
  from ``model_dir``.
- Either way the Hugging Face config and tokenizer live in the folder next to the checkpoint
  named after its stem: ``models/detoxify/original/`` for ``models/detoxify/original.ckpt``.
  Its ``config.json`` must describe the classifier, i.e. carry ``num_labels`` equal to the
  checkpoint's class count. To prepare it once on a machine that has internet::

      ckpt = torch.load("models/detoxify/original.ckpt", weights_only=False)
      args = ckpt["config"]["arch"]["args"]
      folder = "models/detoxify/original"
      transformers.AutoConfig.from_pretrained(
          args["model_type"], num_labels=args["num_classes"]).save_pretrained(folder)
      getattr(transformers, args["tokenizer_name"]).from_pretrained(
          args["model_type"]).save_pretrained(folder)

What plain Detoxify does offline (checked by tests/unit/civil/toxicity/test_scorers.py):
``Detoxify(model_type=name)`` always fetches the checkpoint through ``torch.hub``.
``Detoxify(checkpoint=path, huggingface_config_path=folder)`` works offline only when the
checkpoint's ``arch.args.model_type`` is itself a local folder; with the released checkpoints
(``model_type`` is a hub name such as ``bert-base-uncased``) its unconditional
``config_class.from_pretrained(model_type)`` contacts huggingface.co, retrying for about 25 s,
before it fails. ``DetoxifyScorer`` therefore hands Detoxify a copy of the checkpoint whose
``model_type`` points at the local folder; see ``_load_detoxify``.

Long comments are never truncated: a text longer than the model's window is cut into
overlapping windows of tokenizer tokens, each scored on its own, and every label takes its
maximum over the windows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civil.scoring import TOXICITY_LABELS, ScorerUnavailable
from civil.textnorm import normalize_text

if TYPE_CHECKING:
    from detoxify import Detoxify


DETOXIFY_MODELS: tuple[str, ...] = (
    "original",
    "unbiased",
    "multilingual",
    "original-small",
    "unbiased-small",
)
CHECKPOINT_SUFFIX = ".ckpt"
# RoBERTa-style models number positions from padding_idx + 1, so those embeddings never
# hold a token.
_OFFSET_POSITION_MODELS = frozenset({"roberta", "xlm-roberta", "camembert"})


class DetoxifyScorer:
    """Score texts with a Detoxify model loaded from local files only."""

    def __init__(
        self,
        spec: str,
        model_dir: Path,
        batch_size: int = 32,
        max_chars_per_window: int = 2000,
    ) -> None:
        """Load the model ``spec`` names from local files, or raise ScorerUnavailable."""
        if batch_size < 1 or max_chars_per_window < 1:
            raise ValueError("batch_size and max_chars_per_window must be positive")
        try:
            import torch
            from detoxify.detoxify import MODEL_URLS
        except (ImportError, OSError) as exc:
            raise ScorerUnavailable(f"Detoxify cannot be imported: {exc}") from exc

        model_dir = Path(model_dir)
        if spec in DETOXIFY_MODELS:
            hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
            checkpoint = _find_named_checkpoint(spec, model_dir, hub_dir, MODEL_URLS[spec])
            self.name = f"detoxify:{spec}"
        elif spec.endswith(CHECKPOINT_SUFFIX):
            checkpoint = model_dir / Path(spec).expanduser()
            if not checkpoint.is_file():
                raise ScorerUnavailable(f"Detoxify checkpoint {checkpoint} does not exist")
            self.name = f"detoxify:{checkpoint.name}"
        else:
            raise ScorerUnavailable(
                f"unknown Detoxify model {spec!r}: expected one of {', '.join(DETOXIFY_MODELS)} "
                f"or a path ending in {CHECKPOINT_SUFFIX}"
            )

        self.detoxify = _load_detoxify(checkpoint)
        self.batch_size = batch_size
        # Only used when the tokenizer cannot report character offsets (the slow tokenizers
        # of transformers 4): the first guess at a window, shrunk until it fits the model.
        self.max_chars_per_window = max_chars_per_window
        self.window_tokens = window_tokens(self.detoxify.tokenizer, self.detoxify.model.config)
        # An eighth of a window (63 tokens for BERT): a phrase up to that long that one
        # window's end cuts still lies whole inside the next window.
        self.overlap_tokens = max(1, self.window_tokens // 8)
        self._tokenizer = self.detoxify.tokenizer
        self._use_token_offsets = bool(getattr(self._tokenizer, "is_fast", False))

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return the six toxicity probabilities for every text."""
        return [scores for scores, _ in self.score_batch_detailed(texts)]

    def score_batch_detailed(self, texts: Sequence[str]) -> list[tuple[dict[str, float], int]]:
        """Return every text's probabilities (max over its windows) and its window count.

        Texts are normalised first (``civil.textnorm``: zero-width characters, look-alike
        letters, leetspeak, spaced letters), as the linear model's are, so an evasion that the
        linear model sees through is not handed to the transformer in its evasive spelling.
        """
        pieces: list[tuple[int, str]] = []
        counts: list[int] = []
        for index, raw in enumerate(texts):
            text = normalize_text(raw)
            spans = self.window_spans(text)
            counts.append(len(spans))
            pieces.extend((index, text[start:end]) for start, end in spans)
        # Detoxify pads every batch to its longest member, so similar lengths belong together.
        pieces.sort(key=lambda piece: len(piece[1]))

        best = [dict.fromkeys(TOXICITY_LABELS, 0.0) for _ in texts]
        for chunk in self._chunks(pieces):
            predicted = self._predict([piece for _, piece in chunk])
            for (index, _), scores in zip(chunk, predicted, strict=True):
                current = best[index]
                for label in TOXICITY_LABELS:
                    current[label] = max(current[label], scores[label])
        return list(zip(best, counts, strict=True))

    def _chunks(self, pieces: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
        """Batches of length-sorted pieces, cut where padding would waste more than it saves.

        A batch is padded to its longest piece; a piece more than twice as long as the
        batch's shortest (plus a little) starts a new batch, so a short comment never pays
        for a long one's 128 tokens.
        """
        chunk: list[tuple[int, str]] = []
        for piece in pieces:
            if chunk and (
                len(chunk) >= self.batch_size or len(piece[1]) > 2 * len(chunk[0][1]) + 64
            ):
                yield chunk
                chunk = []
            chunk.append(piece)
        if chunk:
            yield chunk

    def window_spans(self, text: str) -> list[tuple[int, int]]:
        """Return the character spans of the overlapping windows that together cover ``text``."""
        if self._use_token_offsets:
            return self._token_spans(text)
        return self._char_spans(text)

    def _predict(self, batch: list[str]) -> list[dict[str, float]]:
        raw = self.detoxify.predict(batch)
        # Detoxify squeezes the scores of a one-text batch to bare floats.
        columns = {
            label: raw[label] if isinstance(raw[label], list) else [raw[label]]
            for label in TOXICITY_LABELS
        }
        return [
            {label: float(columns[label][row]) for label in TOXICITY_LABELS}
            for row in range(len(batch))
        ]

    def _count_tokens(self, text: str) -> int:
        encoded = self._tokenizer(text, add_special_tokens=False, verbose=False)
        return len(encoded["input_ids"])

    def _token_spans(self, text: str) -> list[tuple[int, int]]:
        encoded = self._tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets: list[tuple[int, int]] = encoded["offset_mapping"]
        if len(offsets) <= self.window_tokens:
            return [(0, len(text))]
        spans: list[tuple[int, int]] = []
        start = 0
        while True:
            end = min(start + self.window_tokens, len(offsets))
            while True:
                span = (offsets[start][0], offsets[end - 1][1])
                # A window that begins inside a word can tokenize into more pieces on its own
                # than it had in context; Detoxify would silently drop the surplus.
                excess = self._count_tokens(text[span[0] : span[1]]) - self.window_tokens
                if excess <= 0 or end - start == 1:
                    break
                end = max(start + 1, end - excess)
            spans.append(span)
            if end == len(offsets):
                return spans
            start = max(start + 1, end - self.overlap_tokens)

    def _char_spans(self, text: str) -> list[tuple[int, int]]:
        if self._count_tokens(text) <= self.window_tokens:
            return [(0, len(text))]
        spans: list[tuple[int, int]] = []
        start, size = 0, self.max_chars_per_window
        while True:
            end = min(start + size, len(text))
            tokens = self._count_tokens(text[start:end])
            if tokens > self.window_tokens and end - start > 1:
                # Shrink in proportion, with a tenth to spare, and keep the smaller size for
                # the following windows of the same text.
                size = max(1, (end - start) * self.window_tokens * 9 // (tokens * 10))
                continue
            spans.append((start, end))
            if end == len(text):
                return spans
            start = end - (end - start) // 8


CIVIL_MODELS: tuple[str, ...] = ("cascade", "cascade-int8", "linear", "minilm")


def _find_named_checkpoint(name: str, model_dir: Path, hub_dir: Path, url: str) -> Path:
    candidates = [
        model_dir / "detoxify" / f"{name}{CHECKPOINT_SUFFIX}",
        hub_dir / url.rsplit("/", 1)[-1],
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ScorerUnavailable(
        f"Detoxify model {name!r} is not installed and will not be downloaded; "
        f"looked for {' and '.join(str(path) for path in candidates)}"
    )


def _load_detoxify(checkpoint: Path) -> Detoxify:
    import torch
    import transformers
    from detoxify import Detoxify

    hf_dir = checkpoint.with_suffix("")
    if not hf_dir.is_dir():
        raise ScorerUnavailable(
            f"the Hugging Face config/tokenizer folder for {checkpoint.name} is missing: "
            f"expected {hf_dir}"
        )
    loaded = _read_checkpoint(torch, checkpoint)
    try:
        args = loaded["config"]["arch"]["args"]
        classes = loaded["config"]["dataset"]["args"]["classes"]
        state_dict = loaded["state_dict"]
        model_class = getattr(transformers, args["model_name"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ScorerUnavailable(f"{checkpoint} is not a Detoxify checkpoint: {exc!r}") from exc

    try:
        config = model_class.config_class.from_pretrained(hf_dir, local_files_only=True)
    except Exception as exc:
        raise ScorerUnavailable(f"cannot read the model config in {hf_dir}: {exc}") from exc
    # Detoxify takes the model config from the folder as is, so a base model's config
    # (two labels) would only fail later with a shape mismatch deep inside transformers.
    if config.num_labels != len(classes):
        raise ScorerUnavailable(
            f"{hf_dir}/config.json declares {config.num_labels} labels but {checkpoint.name} "
            f"has {len(classes)} classes; save the config with num_labels={len(classes)}"
        )

    # Detoxify always calls config_class.from_pretrained(model_type), which goes to the
    # Hugging Face hub for the released checkpoints' model_type ("bert-base-uncased", ...)
    # even when huggingface_config_path is given. Pointing model_type at the local folder
    # makes that call read local files. We pass the rewritten checkpoint in memory
    # (torch.load accepts a file object) rather than seeding a Hugging Face cache or setting
    # HF_HUB_OFFLINE: both would write outside model_dir or change process-wide state, and
    # HF_HUB_OFFLINE is only read when huggingface_hub is first imported. The price is one
    # transient in-memory copy of the weights while the model loads.
    args["model_type"] = str(hf_dir)
    buffer = io.BytesIO()
    torch.save({"config": loaded["config"], "state_dict": state_dict}, buffer)
    del loaded, state_dict
    buffer.seek(0)
    try:
        # huggingface_config_path also makes Detoxify pass local_files_only=True to the
        # model and tokenizer loaders.
        detoxify = Detoxify(checkpoint=buffer, huggingface_config_path=str(hf_dir))
    except Exception as exc:
        raise ScorerUnavailable(f"cannot load Detoxify model {checkpoint}: {exc}") from exc

    missing = [label for label in TOXICITY_LABELS if label not in detoxify.class_names]
    if missing:
        raise ScorerUnavailable(f"{checkpoint.name} does not predict {', '.join(missing)}")
    return detoxify


def _read_checkpoint(torch: Any, checkpoint: Path) -> Any:
    # Detoxify checkpoints are full pickles that Detoxify itself loads with
    # weights_only=False; the files in model_dir are trusted exactly as far as Detoxify
    # trusts them. Mapping the file keeps the weights out of private memory while we copy
    # them; checkpoints in the legacy (non-zip) format cannot be mapped.
    try:
        try:
            return torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
        except RuntimeError:
            return torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ScorerUnavailable(f"cannot read Detoxify checkpoint {checkpoint}: {exc}") from exc


def window_tokens(tokenizer: Any, config: Any) -> int:
    """Text tokens one window holds: the tokenizer's and position table's limit, less specials."""
    limit = int(tokenizer.model_max_length)
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        if config.model_type in _OFFSET_POSITION_MODELS:
            positions -= (config.pad_token_id or 0) + 1
        limit = min(limit, positions)
    return limit - tokenizer.num_special_tokens_to_add(pair=False)
