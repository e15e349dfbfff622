"""`civil deliveries`: callback deliveries, their attempt logs, dead letters and replays."""

from __future__ import annotations

import click

from cli.common import fail, load_settings, open_database, print_json


@click.group("deliveries")
def group() -> None:
    """Callback deliveries and dead letters."""


@group.command("list")
@click.option("--site", "site_id", default=None)
@click.option("--status", type=click.Choice(["pending", "retrying", "delivered", "dead"]))
@click.option("--limit", type=int, default=50, show_default=True)
def deliveries_list(site_id: str | None, status: str | None, limit: int) -> None:
    """List deliveries, newest first (--status dead for the dead letters)."""
    from civil.delivery.events import event_view, list_events

    with open_database().session() as session:
        print_json(
            [
                event_view(e)
                for e in list_events(session, site_id=site_id, status=status, limit=limit)
            ]
        )


@group.command("show")
@click.argument("event_id")
def deliveries_show(event_id: str) -> None:
    """One delivery and its attempt log."""
    from civil.delivery.events import attempts_of, event_view
    from civil.models import Event

    with open_database().session() as session:
        event = session.get(Event, event_id)
        if event is None:
            raise click.ClickException(f"no such delivery {event_id}")
        print_json(event_view(event, attempts_of(session, event_id)))


@group.command("replay")
@click.argument("event_ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Replay every dead letter.")
@click.option("--site", "site_id", default=None, help="With --all-dead: only this site's.")
def deliveries_replay(event_ids: tuple[str, ...], all_dead: bool, site_id: str | None) -> None:
    """Deliver events again (same webhook-id, fresh retry window)."""
    from civil.delivery.events import list_events, replay_event
    from service.broker import make_producer, publish_deliveries

    settings = load_settings()
    ids = list(event_ids)
    try:
        with open_database().session() as session:
            if all_dead:
                ids += [
                    e.id
                    for e in list_events(session, site_id=site_id, status="dead", limit=100_000)
                ]
            for event_id in ids:
                replay_event(session, event_id)
    except Exception as exc:
        fail(exc)
    # After the commit, through the API's producer and retry policy: a publish the broker
    # refuses is logged, and the dispatcher sends the event once its lease runs out.
    publish_deliveries(make_producer(settings), open_database(), ids)
    print_json({"replayed": ids})
