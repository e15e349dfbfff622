"""`civil models`: train, tune and evaluate the toxicity and spam models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cli.common import fail, load_settings, open_database, print_json


@click.group("models")
def group() -> None:
    """Train, tune and evaluate the toxicity and spam models (needs the training data)."""


@group.command("prepare-data")
@click.option(
    "--shared",
    type=click.Path(path_type=Path),
    default=None,
    help="shared/data/toxicity folder (default: ../shared/data/toxicity)",
)
@click.option("--out", type=click.Path(path_type=Path), default=None)
def models_prepare(shared: Path | None, out: Path | None) -> None:
    """Map every source's labels to Detoxify's six, dedupe, split into train/valid/test JSONL."""
    from civil.toxicity.training import data

    print_json(data.prepare(out or data.DEFAULT_OUT, shared or data.DEFAULT_ROOT))


@group.command("train-toxicity")
@click.option(
    "--model",
    "which",
    type=click.Choice(["all", "linear", "minilm", "cascade"]),
    default="all",
    show_default=True,
)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option(
    "--minilm-arg",
    "minilm_args",
    multiple=True,
    help="extra argument for the MiniLM trainer, e.g. --minilm-arg=--max-minutes=60",
)
def models_train(which: str, data_dir: Path | None, minilm_args: tuple[str, ...]) -> None:
    """Train the linear model, fine-tune MiniLM (resumable), export it, tune the cascade."""
    from civil.toxicity.training import data, tune
    from civil.toxicity.training import linear as train_linear
    from civil.toxicity.training.minilm.cli import main as train_minilm

    data_dir = data_dir or data.DEFAULT_OUT
    if not (data_dir / "train.jsonl").exists():
        data.prepare(data_dir)
    if which in ("all", "linear"):
        train_linear.main(data_dir)
    if which in ("all", "minilm"):
        code = train_minilm(["train", "--data-dir", str(data_dir), *minilm_args])
        if code:
            sys.exit(code)
        train_minilm(["export", "--data-dir", str(data_dir)])
    if which in ("all", "cascade"):
        from civil.toxicity.loader import load_scorer

        model_dir = load_settings().model_dir
        linear, minilm = load_scorer("linear", model_dir), load_scorer("minilm", model_dir)
        print_json(tune.run(data_dir, model_dir, linear, minilm))


@group.command("evaluate")
@click.option(
    "--data",
    "csv_path",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help="Jigsaw-format CSV: comment_text + toxic, severe_toxic, ... columns",
)
@click.option("--model", "spec", default=None, help="default: CIVIL_TOXICITY_MODEL")
def models_evaluate(csv_path: Path, spec: str | None) -> None:
    """Per-label ROC-AUC and their mean of a model on a labelled CSV."""
    from civil.toxicity.loader import load_scorer
    from civil.toxicity.training.evaluate import evaluate_csv

    settings = load_settings()
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    evaluate_csv(scorer, csv_path, out=click.echo)


@group.command("bias")
@click.option("--model", "spec", default=None, help="default: CIVIL_TOXICITY_MODEL")
@click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path),
    default=None,
    help="the toxicity data folder holding wikipedia-bias/ (default ../shared/data/toxicity "
    "when present; templates only without it)",
)
def models_bias(spec: str | None, data_root: Path | None) -> None:
    """Per-identity false-positive rates (templates and the Wikipedia fuzzed/non-fuzzed sets)."""
    from civil.toxicity.loader import load_scorer
    from civil.toxicity.training.data import DEFAULT_ROOT, load_bias_sets
    from civil.toxicity.training.evaluate import bias_report

    settings = load_settings()
    root = data_root or DEFAULT_ROOT
    bias_sets = load_bias_sets(root) if (root / "wikipedia-bias").is_dir() else None
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    print_json(bias_report(scorer, bias_sets))


POLICY_HELP = (
    "a site policy as JSON, merged over the defaults as a site's is "
    '(e.g. \'{"thresholds": {"insult": 0.92}}\'); default: the default policy'
)


def parse_policy(text: str | None) -> Any:
    """A Policy from ``--policy`` JSON, checked as a site's policy is (None: the defaults)."""
    import json

    from civil.decision.policy import Policy
    from civil.errors import InvalidInput
    from civil.tuning.versions import validate_policy

    if text is None:
        return Policy()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--policy") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("a JSON object of policy settings", param_hint="--policy")
    try:
        return Policy.from_dict(validate_policy(data))
    except InvalidInput as exc:
        fail(exc)  # the one error shape on stderr, exit 2
        raise


@group.command("check")
@click.option("--model", "spec", default=None, help="default: CIVIL_TOXICITY_MODEL")
@click.option("--limit", type=int, default=None, help="a bounded, evenly spread subset")
@click.option("--failures", is_flag=True, help="also print up to five failed cases each")
@click.option("--policy", "policy_json", default=None, help=POLICY_HELP)
def models_check(
    spec: str | None, limit: int | None, failures: bool, policy_json: str | None
) -> None:
    """The functional suite: held-or-rejected / approved rates per functionality.

    Threats, identity attacks, insults plain, evaded and buried in long text should be held or
    rejected; benign identity mentions, negated hate and counter-speech approved. Cases go
    through the scorer and the default policy (or ``--policy``) as a comment does.
    """
    from civil.toxicity.loader import load_scorer
    from civil.toxicity.training.functional import run

    policy = parse_policy(policy_json)
    settings = load_settings()
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    report = run(scorer, policy, limit=limit)
    if not failures:
        for row in report.values():
            row.pop("examples_failed")
    print_json({"model": scorer.name, "functionalities": report})


def read_labelled(path: Path) -> tuple[list[str], dict[str, list[int | None]]]:
    """Texts and labels (0, 1, None) from a Jigsaw-format CSV or a prepare-data JSONL split."""
    from civil.scoring import TOXICITY_LABELS
    from civil.toxicity.training.data import read_jigsaw_csv, read_jsonl

    if path.suffix == ".jsonl":
        rows = read_jsonl(path)
        return [r.text for r in rows], {lb: [r.labels[lb] for r in rows] for lb in TOXICITY_LABELS}
    texts, columns = read_jigsaw_csv(path)
    return texts, {label: [int(v) for v in column] for label, column in columns.items()}


@group.command("decisions")
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="labelled rows: a Jigsaw-format CSV or a prepare-data split (.jsonl)",
)
@click.option("--model", "spec", default=None, help="default: CIVIL_TOXICITY_MODEL")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help=POLICY_HELP + "; repeat to compare policies on the same scores",
)
@click.option("--sweep", is_flag=True, help="also each label's reject precision by threshold")
def models_decisions(
    data_path: Path, spec: str | None, policies: tuple[str, ...], sweep: bool
) -> None:
    """How a policy decides labelled rows: toxic and clean rows rejected, held, approved.

    A row is toxic when any of its known labels is 1, clean when all are 0. Rows go through
    the scorer (language routing included) and the policy as a comment does.
    """
    from civil.toxicity.loader import load_scorer
    from civil.tuning.heldout import decide_rows, outcome_table, reject_sweep, score_rows

    chosen = [(text, parse_policy(text)) for text in policies] or [(None, parse_policy(None))]
    texts, labels = read_labelled(data_path)
    settings = load_settings()
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    rows = score_rows(scorer, texts)
    report: dict[str, Any] = {"model": scorer.name, "data": str(data_path), "rows": len(texts)}
    report["policies"] = [
        {
            "policy": text or "default",
            "outcomes": outcome_table(decide_rows(rows, policy, scorer.name), labels),
        }
        for text, policy in chosen
    ]
    if sweep:
        report["reject_sweep"] = reject_sweep(rows, labels)
    print_json(report)


@group.command("train-spam")
@click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path),
    default=None,
    help="shared/data/spam folder (default: ../shared/data/spam)",
)
@click.option(
    "--site",
    "site_ids",
    multiple=True,
    help="retrain only this site's model (repeatable); default: every site with labels",
)
@click.option("--base-only", is_flag=True, help="only the shipped model, no per-site models")
def models_train_spam(data_root: Path | None, site_ids: tuple[str, ...], base_only: bool) -> None:
    """Train the spam text model; then one per site, adding that site's own labels."""
    from civil.spam.service import labelled_sites, site_model_dir, site_training_rows
    from civil.spam.training import train

    settings = load_settings()
    root = data_root or train.DEFAULT_DATA
    if not (root / "youtube").is_dir():
        raise click.ClickException(f"no spam training data at {root} (expected youtube/ and sms/)")
    results: dict[str, Any] = {}
    if not site_ids:
        results["base"] = train.train(Path(settings.model_dir) / "spam", root)
    if not base_only:
        from civil.models import Site

        with open_database().session() as session:
            unknown = [site for site in site_ids if session.get(Site, site) is None]
            if unknown:
                # Its id names the model's folder: never write one for a site that is not there.
                raise click.ClickException(f"no such site: {', '.join(unknown)}")
            sites = list(site_ids) or labelled_sites(session)
            rows = {site: site_training_rows(session, site) for site in sites}
        for site, site_rows in rows.items():
            # Each site's model sees the shared data plus its own labels only.
            results[site] = train.train(site_model_dir(settings, site), root, site_rows)
    print_json(results)


@group.command("evaluate-spam")
@click.option(
    "--data",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV with a text column (content/text/CONTENT) and a label column (label/CLASS)",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="spam model folder (default: the shipped models/spam)",
)
def models_evaluate_spam(csv_path: Path, model_dir: Path | None) -> None:
    """Precision, recall, F1 and ROC-AUC of the spam scorer on a labelled CSV."""
    from civil.spam.training.evaluate import evaluate_csv

    try:
        evaluate_csv(
            csv_path, model_dir or Path(load_settings().model_dir) / "spam", out=click.echo
        )
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
