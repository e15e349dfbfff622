"""`civil`: run the service, manage sites and deliveries, inspect status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from civil.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _print(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _fail(exc: Exception) -> None:
    from civil.errors import CivilError

    if isinstance(exc, CivilError):
        click.echo(
            json.dumps({"error": exc.code, "message": exc.message, "details": exc.details}),
            err=True,
        )
        sys.exit(2)
    raise exc


@click.group()
def main() -> None:
    """Civil: self-hosted comment moderation."""


@main.command()
@click.option("--port", type=int, default=None, help="API port (default CIVIL_PORT or 8000).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--web-workers", type=int, default=2, show_default=True)
@click.option(
    "--concurrency", type=int, default=2, show_default=True, help="Celery worker processes."
)
def run(port: int | None, host: str, web_workers: int, concurrency: int) -> None:
    """Migrate, then start API (gunicorn) + worker + scheduler, until interrupted."""
    from cli.supervisor import run_all

    settings = _settings()
    sys.exit(
        run_all(
            settings,
            host=host,
            port=port or settings.port,
            web_workers=web_workers,
            concurrency=concurrency,
        )
    )


@main.command()
@click.option("--port", type=int, default=None, help="Port (default CIVIL_PORT or 8000).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--web-workers", type=int, default=2, show_default=True)
def api(port: int | None, host: str, web_workers: int) -> None:
    """Serve only the HTTP API with gunicorn (for scaling the API separately)."""
    from cli.supervisor import exec_api

    settings = _settings()
    exec_api(settings, host, port or settings.port, web_workers)


@main.command()
@click.option("--queues", "-Q", default="scoring,delivery,maintenance", show_default=True)
@click.option("--concurrency", "-c", type=int, default=2, show_default=True)
def worker(queues: str, concurrency: int) -> None:
    """Start one Celery worker (for scaling out: run more, or dedicate them to queues)."""
    from cli.supervisor import exec_worker

    exec_worker(queues, concurrency)


@main.command()
def beat() -> None:
    """Start the scheduler (sweeper and delivery dispatcher). Run exactly one."""
    from cli.supervisor import exec_beat

    exec_beat(_settings())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""
    from civil.migrate import upgrade

    upgrade(_settings(), revision)
    click.echo(f"database at {revision}")


@main.group()
def sites() -> None:
    """Host sites: keys, signing secrets, callback URL, policy."""


def _database() -> Any:
    from civil.db import Database

    return Database(_settings())


@sites.command("create")
@click.option("--name", required=True)
@click.option("--callback-url", default=None)
@click.option("--policy", default=None, help="Policy JSON (thresholds, mode, word lists...).")
def sites_create(name: str, callback_url: str | None, policy: str | None) -> None:
    """Create a site; prints {site_id, api_key, signing_secret} (the key is shown once)."""
    from civil.sites import create_site

    settings = _settings()
    try:
        with _database().session() as session:
            creds = create_site(
                session,
                name=name,
                callback_url=callback_url,
                policy=json.loads(policy) if policy else None,
                allow_private=settings.allow_private_callbacks,
            )
    except Exception as exc:
        _fail(exc)
    _print(creds.to_dict())


@sites.command("list")
def sites_list() -> None:
    """List sites (never their keys)."""
    from civil.sites import list_sites, site_summary

    with _database().session() as session:
        _print([site_summary(s) for s in list_sites(session)])


@sites.command("update")
@click.argument("site_id")
@click.option("--callback-url", default=None)
@click.option("--policy", default=None, help="Policy JSON merged over the current one.")
def sites_update(site_id: str, callback_url: str | None, policy: str | None) -> None:
    """Change a site's callback URL (re-enables a disabled endpoint) or policy."""
    from civil.sites import site_summary, update_site

    try:
        with _database().session() as session:
            site = update_site(
                session,
                site_id,
                callback_url=callback_url,
                policy=json.loads(policy) if policy else None,
                allow_private=_settings().allow_private_callbacks,
            )
            _print(site_summary(site))
    except Exception as exc:
        _fail(exc)


@sites.command("rotate-secret")
@click.argument("site_id")
def sites_rotate_secret(site_id: str) -> None:
    """Issue a new signing secret; prints it."""
    from civil.sites import rotate_secret

    try:
        with _database().session() as session:
            _print({"site_id": site_id, "signing_secret": rotate_secret(session, site_id)})
    except Exception as exc:
        _fail(exc)


@sites.command("rotate-key")
@click.argument("site_id")
def sites_rotate_key(site_id: str) -> None:
    """Issue a new API key (the old one stops working); prints it."""
    from civil.sites import rotate_key

    try:
        with _database().session() as session:
            _print({"site_id": site_id, "api_key": rotate_key(session, site_id)})
    except Exception as exc:
        _fail(exc)


@sites.command("delete")
@click.argument("site_id")
@click.confirmation_option(prompt="Delete the site and all its comments?")
def sites_delete(site_id: str) -> None:
    """Delete a site with its comments and deliveries."""
    from civil.sites import delete_site

    try:
        with _database().session() as session:
            delete_site(session, site_id)
    except Exception as exc:
        _fail(exc)
    _print({"deleted": site_id})


@main.group()
def deliveries() -> None:
    """Callback deliveries and dead letters."""


@deliveries.command("list")
@click.option("--site", "site_id", default=None)
@click.option("--status", type=click.Choice(["pending", "retrying", "delivered", "dead"]))
@click.option("--limit", type=int, default=50, show_default=True)
def deliveries_list(site_id: str | None, status: str | None, limit: int) -> None:
    """List deliveries, newest first (--status dead for the dead letters)."""
    from civil.delivery.events import event_view, list_events

    with _database().session() as session:
        _print(
            [
                event_view(e)
                for e in list_events(session, site_id=site_id, status=status, limit=limit)
            ]
        )


@deliveries.command("show")
@click.argument("event_id")
def deliveries_show(event_id: str) -> None:
    """One delivery and its attempt log."""
    from civil.delivery.events import attempts_of, event_view
    from civil.models import Event

    with _database().session() as session:
        event = session.get(Event, event_id)
        if event is None:
            raise click.ClickException(f"no such delivery {event_id}")
        _print(event_view(event, attempts_of(session, event_id)))


@deliveries.command("replay")
@click.argument("event_ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
@click.option("--site", "site_id", default=None, help="With --all-dead: only this site's.")
def deliveries_replay(event_ids: tuple[str, ...], all_dead: bool, site_id: str | None) -> None:
    """Deliver events again (same webhook-id, fresh retry window)."""
    from civil.delivery.events import list_events, replay_event
    from civil.tasknames import DELIVER_EVENT, DELIVERY
    from service.broker import make_producer

    settings = _settings()
    ids = list(event_ids)
    try:
        with _database().session() as session:
            if all_dead:
                ids += [
                    e.id
                    for e in list_events(session, site_id=site_id, status="dead", limit=100_000)
                ]
            for event_id in ids:
                replay_event(session, event_id)
    except Exception as exc:
        _fail(exc)
    producer = make_producer(settings)
    for event_id in ids:
        producer.send_task(DELIVER_EVENT, args=(event_id,), queue=DELIVERY)
    _print({"replayed": ids})


@main.group("moderators")
def moderators_group() -> None:
    """Moderator accounts for the workspace (/moderate) and the moderator JSON API."""


@moderators_group.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--site", "site_ids", multiple=True, help="A site this moderator reviews (repeat).")
@click.option("--admin", is_flag=True, help="Sees every site and the ops view.")
def moderators_create(email: str, password: str, site_ids: tuple[str, ...], admin: bool) -> None:
    """Create an account; prints its id and API token (the token is shown once)."""
    from civil.moderation.accounts import create_moderator

    try:
        with _database().session() as session:
            moderator, token = create_moderator(session, email, password, list(site_ids), admin)
            out = {"id": moderator.id, "email": moderator.email, "admin": admin, "token": token}
    except Exception as exc:
        _fail(exc)
    _print(out)


@moderators_group.command("rotate-token")
@click.option("--email", required=True)
def moderators_rotate_token(email: str) -> None:
    """Issue a new API token (the old one stops working); prints it."""
    from sqlalchemy import select

    from civil.errors import NotFound
    from civil.models import Moderator
    from civil.moderation.accounts import rotate_token

    try:
        with _database().session() as session:
            found = session.scalar(select(Moderator.id).where(Moderator.email == email.lower()))
            if found is None:
                raise NotFound("no such moderator", {"email": email})
            out = {"email": email.lower(), "token": rotate_token(session, found)}
    except Exception as exc:
        _fail(exc)
    _print(out)


@moderators_group.command("list")
def moderators_list() -> None:
    """List accounts with their sites (never passwords or tokens)."""
    from civil.moderation.accounts import list_moderators

    with _database().session() as session:
        _print(list_moderators(session))


@main.group()
def models() -> None:
    """Train, tune and evaluate the toxicity and spam models (needs the training data)."""


@models.command("prepare-data")
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

    _print(data.prepare(out or data.DEFAULT_OUT, shared or data.DEFAULT_ROOT))


@models.command("train-toxicity")
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
    from civil.toxicity.training.minilm import train as train_minilm

    data_dir = data_dir or data.DEFAULT_OUT
    if not (data_dir / "train.jsonl").exists():
        data.prepare(data_dir)
    if which in ("all", "linear"):
        train_linear.main(data_dir)
    if which in ("all", "minilm"):
        code = train_minilm.main(["train", "--data-dir", str(data_dir), *minilm_args])
        if code:
            sys.exit(code)
        train_minilm.main(["export", "--data-dir", str(data_dir)])
    if which in ("all", "cascade"):
        from civil.toxicity.loader import load_scorer

        model_dir = _settings().model_dir
        linear, minilm = load_scorer("linear", model_dir), load_scorer("minilm", model_dir)
        _print(tune.run(data_dir, model_dir, linear, minilm))


@models.command("evaluate")
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

    settings = _settings()
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    evaluate_csv(scorer, csv_path, out=click.echo)


@models.command("bias")
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

    settings = _settings()
    root = data_root or DEFAULT_ROOT
    bias_sets = load_bias_sets(root) if (root / "wikipedia-bias").is_dir() else None
    scorer = load_scorer(spec or settings.toxicity_model, settings.model_dir)
    _print(bias_report(scorer, bias_sets))


@models.command("train-spam")
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

    settings = _settings()
    root = data_root or train.DEFAULT_DATA
    if not (root / "youtube").is_dir():
        raise click.ClickException(f"no spam training data at {root} (expected youtube/ and sms/)")
    results: dict[str, Any] = {}
    if not site_ids:
        results["base"] = train.train(Path(settings.model_dir) / "spam", root)
    if not base_only:
        from civil.models import Site

        with _database().session() as session:
            unknown = [site for site in site_ids if session.get(Site, site) is None]
            if unknown:
                # Its id names the model's folder: never write one for a site that is not there.
                raise click.ClickException(f"no such site: {', '.join(unknown)}")
            sites = list(site_ids) or labelled_sites(session)
            rows = {site: site_training_rows(session, site) for site in sites}
        for site, site_rows in rows.items():
            # Each site's model sees the shared data plus its own labels only.
            results[site] = train.train(site_model_dir(settings, site), root, site_rows)
    _print(results)


@models.command("evaluate-spam")
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
        evaluate_csv(csv_path, model_dir or Path(_settings().model_dir) / "spam", out=click.echo)
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def status() -> None:
    """Workers, queue depths, comments by status and dead letters."""
    from civil.ops import health

    settings = _settings()
    database = _database()
    try:
        depths: Any = health.queue_depths(settings)
    except Exception as exc:
        depths = {"error": f"broker unreachable: {type(exc).__name__}"}
    counts = health.counts(database)
    _print(
        {
            "workers": health.live_workers(database, settings),
            "queues": depths,
            "comments": counts["comments"],
            "deliveries": counts["deliveries"],
            "dead_letters": counts["deliveries"].get("dead", 0),
            "broker": settings.broker_url.split("@")[-1],
            "database": settings.database_url.split("@")[-1],
        }
    )


if __name__ == "__main__":
    main()
