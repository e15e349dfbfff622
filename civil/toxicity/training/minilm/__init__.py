"""Fine-tuning MiniLM into a Detoxify-format checkpoint.

What the data looks like: JSONL rows ``{"text", "labels": {label: 0|1|null}, "source", "lang"}``
(read by ``civil.toxicity.dataset``). A ``null`` label is unknown for that row and contributes
no loss (``loop.masked_bce_loss``). One epoch is every row that knows at least
``full_min_labels`` labels (the six-label Jigsaw rows), ``full_repeat`` times, plus a fresh
random sample of at most ``source_caps[source]`` of each source's other rows, so that an epoch
stays affordable on two CPU cores while the large single-label sets still vary from epoch to
epoch (``batches``).

The run directory holds ``last.pt`` (model, optimizer, scheduler, step, position in the epoch,
RNG states; rewritten every few minutes, after every validation and on SIGTERM/SIGINT),
``best.safetensors`` + ``best.json`` (the weights with the best mean validation ROC-AUC so far)
and ``history.jsonl`` (one line per validation); see ``checkpoint``. ``export`` writes the
Detoxify-format files. Modules: ``config`` (TrainConfig), ``batches`` (rows, batches, tensors),
``model`` (base encoder, tokenizer, scoring), ``loop`` (training), ``checkpoint`` (run files),
``export``, ``__main__`` (the command line).
"""
