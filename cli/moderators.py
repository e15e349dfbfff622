"""`civil moderators`: accounts for the moderator workspace and the moderator JSON API.

Every change goes through civil.admin, as the admin API's do, and is audited.
"""

from __future__ import annotations

from typing import Any

import click

from cli.common import actor, fail, open_database, print_json


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
    from civil.admin import create_moderator

    try:
        with open_database().session() as session:
            moderator, token = create_moderator(
                session, actor(), email, password, list(site_ids), admin
            )
            out = {"id": moderator.id, "email": moderator.email, "admin": admin, "token": token}
    except Exception as exc:
        fail(exc)
    print_json(out)


def _moderator_id(session: Any, email: str) -> int:
    from civil.moderation.accounts import find_moderator

    return find_moderator(session, email).id


@group.command("rotate-token")
@click.option("--email", required=True)
def moderators_rotate_token(email: str) -> None:
    """Issue a new API token (the old one stops working); prints it."""
    from civil.admin import rotate_token

    try:
        with open_database().session() as session:
            token = rotate_token(session, actor(), _moderator_id(session, email))
            out = {"email": email.strip().lower(), "token": token}
    except Exception as exc:
        fail(exc)
    print_json(out)


@group.command("disable")
@click.option("--email", required=True)
def moderators_disable(email: str) -> None:
    """Disable an account: no login, no token, every session ended."""
    _set_disabled(email, True)


@group.command("enable")
@click.option("--email", required=True)
def moderators_enable(email: str) -> None:
    """Re-enable a disabled account."""
    _set_disabled(email, False)


def _set_disabled(email: str, disabled: bool) -> None:
    from civil.admin import set_disabled
    from civil.moderation.accounts import moderator_view

    try:
        with open_database().session() as session:
            moderator = set_disabled(session, actor(), _moderator_id(session, email), disabled)
            out = moderator_view(session, moderator)
    except Exception as exc:
        fail(exc)
    print_json(out)


@group.command("assign")
@click.option("--email", required=True)
@click.option("--site", "site_ids", multiple=True, help="A site to review (repeat); replaces all.")
def moderators_assign(email: str, site_ids: tuple[str, ...]) -> None:
    """Replace the sites a moderator reviews."""
    from civil.admin import assign_sites
    from civil.moderation.accounts import moderator_view

    try:
        with open_database().session() as session:
            moderator = assign_sites(
                session, actor(), _moderator_id(session, email), list(site_ids)
            )
            out = moderator_view(session, moderator)
    except Exception as exc:
        fail(exc)
    print_json(out)


@group.command("reset-password")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def moderators_reset_password(email: str, password: str) -> None:
    """Set a new password (lifts a lock-out, ends every session)."""
    from civil.admin import reset_password

    try:
        with open_database().session() as session:
            reset_password(session, actor(), _moderator_id(session, email), password)
    except Exception as exc:
        fail(exc)
    print_json({"email": email.strip().lower(), "password": "reset"})


@group.command("delete")
@click.option("--email", required=True)
@click.confirmation_option(prompt="Remove this moderator account?")
def moderators_delete(email: str) -> None:
    """Remove an account (the audit log keeps what it did)."""
    from civil.admin import delete_moderator

    try:
        with open_database().session() as session:
            delete_moderator(session, actor(), _moderator_id(session, email))
    except Exception as exc:
        fail(exc)
    print_json({"deleted": email.strip().lower()})


@group.command("list")
def moderators_list() -> None:
    """List accounts with their sites (never passwords or tokens)."""
    from civil.moderation.accounts import list_moderators

    with open_database().session() as session:
        print_json(list_moderators(session))
