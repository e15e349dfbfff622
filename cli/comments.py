"""`civil comments`: work over a site's stored comments (re-score and backfill)."""

from __future__ import annotations

import sys

import click

from civil.scoring import Scorer
from civil.settings import Settings
from cli.common import fail, load_settings, open_database, print_json


@click.group("comments")
def group() -> None:
    """Stored comments: re-score and backfill."""


@group.command("rescore")
@click.option("--site", "site_id", required=True)
@click.option("--since", default=None, help="Only comments received since (a time, or 24h, 7d).")
@click.option("--status", type=click.Choice(["approved", "held", "rejected"]), default=None)
@click.option("--dry-run", is_flag=True, help="Change nothing; print the shadow-style report.")
@click.option("--candidate", is_flag=True, help="Use the site's shadow candidate (policy, model).")
@click.option("--include-moderated", is_flag=True, help="Re-decide moderators' decisions too.")
@click.option("--batch-size", default=100, show_default=True)
@click.option("--restart", is_flag=True, help="Start over instead of resuming an unfinished run.")
def rescore(
    site_id: str,
    since: str | None,
    status: str | None,
    dry_run: bool,
    candidate: bool,
    include_moderated: bool,
    batch_size: int,
    restart: bool,
) -> None:
    """Re-run the model and policy over stored comments, batched and resumable."""
    from civil.models import Site
    from civil.tuning.rescore import RescoreJob, count_selected, load_state, rescore, state_path
    from civil.tuning.window import parse_moment

    settings = load_settings()
    db = open_database()
    try:
        job = RescoreJob(
            site_id,
            since=parse_moment(since) if since else None,
            status=status,
            candidate=candidate,
            dry_run=dry_run,
            include_moderated=include_moderated,
            batch_size=batch_size,
        )
        path = state_path(settings.data_dir, job)
        if restart:
            path.unlink(missing_ok=True)
        with db.session() as session:
            site = session.get(Site, site_id)
            if site is None:
                from civil.errors import NotFound

                raise NotFound("no such site", {"site_id": site_id})
            spec = ((site.candidate or {}).get("model") if candidate else None) or (
                settings.toxicity_model
            )
            total = count_selected(session, job, load_state(path)["last_id"])
        scorer = _scorer(spec, settings)
        # The bar goes to stderr: stdout carries only the JSON result.
        with click.progressbar(length=total, label="re-scoring", file=sys.stderr) as bar:
            result = rescore(db, job, scorer, state_file=path, progress=bar.update)
    except Exception as exc:
        fail(exc)
    # Changed statuses are in the outbox: the dispatcher delivers their callbacks.
    events = len(result.pop("event_ids"))
    print_json({**result, "events": events})


def _scorer(spec: str, settings: Settings) -> Scorer:
    from civil.toxicity.loader import load_scorer

    return load_scorer(spec, settings.model_dir, batch_size=settings.score_batch_size)
