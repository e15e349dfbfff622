"""`civil sites`: host sites, their keys, signing secrets, callback URL and policy."""

from __future__ import annotations

import json

import click

from cli.common import actor, fail, load_settings, open_database, print_json

NOTIFY_HELP = (
    "Notification JSON: webhook_url, emails, held_over, oldest_minutes, window_minutes, enabled."
)
CALLBACK_HELP = (
    "Where callbacks go: an https URL, or `listen` for the local `civil listen` receiver."
)


def callback_url_option(value: str | None) -> str | None:
    """`listen` is the local receiver's fixed URL (the one loopback URL the guard allows)."""
    if value == "listen":
        from civil.delivery.netguard import LISTENER_URL

        return LISTENER_URL
    return value


@click.group("sites")
def group() -> None:
    """Host sites: keys, signing secrets, callback URL, policy."""


@group.command("create")
@click.option("--name", required=True)
@click.option("--callback-url", default=None, help=CALLBACK_HELP)
@click.option("--policy", default=None, help="Policy JSON (thresholds, mode, word lists...).")
@click.option("--notify", default=None, help=NOTIFY_HELP)
def sites_create(
    name: str, callback_url: str | None, policy: str | None, notify: str | None
) -> None:
    """Create a site; prints {site_id, api_key, signing_secret} (the key is shown once)."""
    from civil.admin import create_site

    settings = load_settings()
    try:
        with open_database().session() as session:
            creds = create_site(
                session,
                actor(),
                name=name,
                callback_url=callback_url_option(callback_url),
                policy=json.loads(policy) if policy else None,
                notify=json.loads(notify) if notify else None,
                allow_private=settings.allow_private_callbacks,
            )
    except Exception as exc:
        fail(exc)
    print_json(creds.to_dict())


@group.command("list")
def sites_list() -> None:
    """List sites (never their keys)."""
    from civil.sites import list_sites, site_summary

    with open_database().session() as session:
        print_json([site_summary(s) for s in list_sites(session)])


@group.command("update")
@click.argument("site_id")
@click.option("--callback-url", default=None, help=CALLBACK_HELP)
@click.option("--policy", default=None, help="Policy JSON merged over the current one.")
@click.option("--notify", default=None, help=NOTIFY_HELP + " Merged over the current one.")
def sites_update(
    site_id: str, callback_url: str | None, policy: str | None, notify: str | None
) -> None:
    """Change a site's callback URL (re-enables a disabled endpoint), policy or notifications."""
    from civil.admin import update_site
    from civil.sites import site_summary

    try:
        with open_database().session() as session:
            site = update_site(
                session,
                actor(),
                site_id,
                callback_url=callback_url_option(callback_url),
                policy=json.loads(policy) if policy else None,
                notify=json.loads(notify) if notify else None,
                allow_private=load_settings().allow_private_callbacks,
            )
            print_json(site_summary(site))
    except Exception as exc:
        fail(exc)


@group.command("rotate-secret")
@click.argument("site_id")
def sites_rotate_secret(site_id: str) -> None:
    """Issue a new signing secret; prints it."""
    from civil.admin import rotate_secret

    try:
        with open_database().session() as session:
            secret = rotate_secret(session, actor(), site_id)
        print_json({"site_id": site_id, "signing_secret": secret})
    except Exception as exc:
        fail(exc)


@group.command("rotate-key")
@click.argument("site_id")
def sites_rotate_key(site_id: str) -> None:
    """Issue a new API key (the old one stops working); prints it."""
    from civil.admin import rotate_key

    try:
        with open_database().session() as session:
            key = rotate_key(session, actor(), site_id)
        print_json({"site_id": site_id, "api_key": key})
    except Exception as exc:
        fail(exc)


@group.command("delete")
@click.argument("site_id")
@click.confirmation_option(prompt="Delete the site and all its comments?")
def sites_delete(site_id: str) -> None:
    """Delete a site with its comments and deliveries."""
    from civil.admin import delete_site

    try:
        with open_database().session() as session:
            delete_site(session, actor(), site_id)
    except Exception as exc:
        fail(exc)
    print_json({"deleted": site_id})


@group.command("export")
@click.argument("site_id")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default="-", help="File (default stdout)."
)
def sites_export(site_id: str, output: str) -> None:
    """Write a site's comments, decisions, labels, reports, appeals and stats as JSON Lines."""
    from civil.privacy.export import export_site

    lines = 0
    try:
        with open_database().session() as session, click.open_file(output, "w") as out:
            for record in export_site(session, site_id):
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                lines += 1
    except Exception as exc:
        fail(exc)
    if output != "-":
        click.echo(f"{lines} lines written to {output}", err=True)


@group.command("coral-secret")
@click.argument("site_id")
@click.option("--secret", prompt=True, hide_input=True, help="The phase's secret shown by Coral.")
@click.option(
    "--grace",
    "grace_seconds",
    type=click.IntRange(0, 86400),
    default=3600,
    show_default=True,
    help="Seconds the replaced secrets stay valid.",
)
@click.option(
    "--timeout-ms",
    type=click.IntRange(100, 10000),
    default=None,
    help="The phase's timeout as set in Coral.",
)
def sites_coral_secret(
    site_id: str, secret: str, grace_seconds: int, timeout_ms: int | None
) -> None:
    """Set the signing secret of the site's Coral external moderation phase."""
    from civil.admin import set_coral_secret
    from civil.errors import InvalidInput

    try:
        if not 16 <= len(secret) <= 200:
            raise InvalidInput("the secret must have 16 to 200 characters")
        with open_database().session() as session:
            view = set_coral_secret(session, actor(), site_id, secret, grace_seconds, timeout_ms)
    except Exception as exc:
        fail(exc)
    print_json(view)
