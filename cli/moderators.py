"""`civil moderators`: accounts for the moderator workspace and the moderator JSON API."""

from __future__ import annotations

import click

from cli.common import fail, open_database, print_json


@click.group("moderators")
def group() -> None:
    """Moderator accounts for the workspace (/moderate) and the moderator JSON API."""


@group.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--site", "site_ids", multiple=True, help="A site this moderator reviews (repeat).")
@click.option("--admin", is_flag=True, help="Sees every site and the ops view.")
def moderators_create(email: str, password: str, site_ids: tuple[str, ...], admin: bool) -> None:
    """Create an account; prints its id and API token (the token is shown once)."""
    from civil.moderation.accounts import create_moderator

    try:
        with open_database().session() as session:
            moderator, token = create_moderator(session, email, password, list(site_ids), admin)
            out = {"id": moderator.id, "email": moderator.email, "admin": admin, "token": token}
    except Exception as exc:
        fail(exc)
    print_json(out)


@group.command("rotate-token")
@click.option("--email", required=True)
def moderators_rotate_token(email: str) -> None:
    """Issue a new API token (the old one stops working); prints it."""
    from sqlalchemy import select

    from civil.errors import NotFound
    from civil.models import Moderator
    from civil.moderation.accounts import rotate_token

    try:
        with open_database().session() as session:
            found = session.scalar(select(Moderator.id).where(Moderator.email == email.lower()))
            if found is None:
                raise NotFound("no such moderator", {"email": email})
            out = {"email": email.lower(), "token": rotate_token(session, found)}
    except Exception as exc:
        fail(exc)
    print_json(out)


@group.command("list")
def moderators_list() -> None:
    """List accounts with their sites (never passwords or tokens)."""
    from civil.moderation.accounts import list_moderators

    with open_database().session() as session:
        print_json(list_moderators(session))
