"""`civil sites`: host sites, their keys, signing secrets, callback URL and policy."""

from __future__ import annotations

import json

import click

from cli.common import fail, load_settings, open_database, print_json

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
def sites_create(name: str, callback_url: str | None, policy: str | None) -> None:
    """Create a site; prints {site_id, api_key, signing_secret} (the key is shown once)."""
    from civil.sites import create_site

    settings = load_settings()
    try:
        with open_database().session() as session:
            creds = create_site(
                session,
                name=name,
                callback_url=callback_url_option(callback_url),
                policy=json.loads(policy) if policy else None,
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
def sites_update(site_id: str, callback_url: str | None, policy: str | None) -> None:
    """Change a site's callback URL (re-enables a disabled endpoint) or policy."""
    from civil.sites import site_summary, update_site

    try:
        with open_database().session() as session:
            site = update_site(
                session,
                site_id,
                callback_url=callback_url_option(callback_url),
                policy=json.loads(policy) if policy else None,
                allow_private=load_settings().allow_private_callbacks,
            )
            print_json(site_summary(site))
    except Exception as exc:
        fail(exc)


@group.command("rotate-secret")
@click.argument("site_id")
def sites_rotate_secret(site_id: str) -> None:
    """Issue a new signing secret; prints it."""
    from civil.sites import rotate_secret

    try:
        with open_database().session() as session:
            print_json({"site_id": site_id, "signing_secret": rotate_secret(session, site_id)})
    except Exception as exc:
        fail(exc)


@group.command("rotate-key")
@click.argument("site_id")
def sites_rotate_key(site_id: str) -> None:
    """Issue a new API key (the old one stops working); prints it."""
    from civil.sites import rotate_key

    try:
        with open_database().session() as session:
            print_json({"site_id": site_id, "api_key": rotate_key(session, site_id)})
    except Exception as exc:
        fail(exc)


@group.command("delete")
@click.argument("site_id")
@click.confirmation_option(prompt="Delete the site and all its comments?")
def sites_delete(site_id: str) -> None:
    """Delete a site with its comments and deliveries."""
    from civil.sites import delete_site

    try:
        with open_database().session() as session:
            delete_site(session, site_id)
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
