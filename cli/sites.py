"""`civil sites`: host sites, their keys, signing secrets, callback URL and policy."""

from __future__ import annotations

import json
from typing import Any

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
@click.option("--why", default=None, help="Why the policy changes (kept in its history).")
def sites_update(
    site_id: str,
    callback_url: str | None,
    policy: str | None,
    notify: str | None,
    why: str | None,
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
                source="cli",
                why=why,
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


def _site(session: Any, site_id: str) -> Any:
    from civil.sites import get_site

    return get_site(session, site_id)


@group.command("policy-history")
@click.argument("site_id")
@click.option("--limit", default=20, show_default=True)
def sites_policy_history(site_id: str, limit: int) -> None:
    """Every version of the site's policy, newest first: who, when, why, the diff."""
    from civil.tuning.versions import policy_history, version_view

    try:
        with open_database().session() as session:
            site = _site(session, site_id)
            rows = policy_history(session, site.id, limit)
            print_json(
                {
                    "site_id": site.id,
                    "live_version": site.policy_version,
                    "versions": [version_view(r) for r in rows],
                }
            )
    except Exception as exc:
        fail(exc)


@group.command("calibrate")
@click.argument("site_id")
@click.option("--target", type=float, default=None, help="Precision for hold thresholds.")
@click.option("--reject-target", type=float, default=0.97, show_default=True)
@click.option("--apply", "apply_", is_flag=True, help="Apply the proposal (a new version).")
@click.option("--why", default=None, help="Why, for the policy history.")
@click.option("--curve/--no-curve", default=False, help="Include each label's full curve.")
def sites_calibrate(
    site_id: str,
    target: float | None,
    reject_target: float,
    apply_: bool,
    why: str | None,
    curve: bool,
) -> None:
    """Precision and volume against threshold from the site's moderators; propose thresholds."""
    from civil.tuning.calibration import apply_proposal, calibrate, proposal_changes

    try:
        with open_database().session() as session:
            site = _site(session, site_id)
            report = calibrate(session, site, target, reject_target)
            report["proposal"] = proposal_changes(report)
            if apply_:
                version = apply_proposal(session, site, report, actor=actor(), why=why)
                report["applied_version"] = version.version if version else None
            if not curve:
                for entry in report["labels"].values():
                    entry.pop("curve", None)
            print_json(report)
    except Exception as exc:
        fail(exc)


@group.group("shadow")
def shadow() -> None:
    """Try a candidate policy or model beside the live one, report, promote."""


@shadow.command("attach")
@click.argument("site_id")
@click.option("--policy", default=None, help="Policy JSON merged over the live one.")
@click.option("--model", default=None, help="Another toxicity model (a CIVIL_TOXICITY_MODEL spec).")
@click.option("--why", default=None)
def shadow_attach(site_id: str, policy: str | None, model: str | None, why: str | None) -> None:
    """Run a candidate beside the live policy on live traffic (nothing it decides takes effect)."""
    from civil.tuning.shadow import attach_candidate

    try:
        with open_database().session() as session:
            site = _site(session, site_id)
            candidate = attach_candidate(
                session,
                site,
                policy_changes=json.loads(policy) if policy else None,
                model=model,
                actor=actor(),
                why=why,
            )
            print_json({k: candidate[k] for k in ("id", "changes", "model", "base_version")})
    except Exception as exc:
        fail(exc)


@shadow.command("report")
@click.argument("site_id")
@click.option("--since", default="24h", show_default=True, help="A time or a span: 90m, 24h, 7d.")
@click.option("--until", default=None)
@click.option("--candidate", "candidate_id", default=None, help="An earlier candidate's id.")
def shadow_report_cmd(
    site_id: str, since: str, until: str | None, candidate_id: str | None
) -> None:
    """How many decisions the candidate would change, and how, over a window."""
    from civil.tuning.shadow import shadow_report
    from civil.tuning.window import parse_moment

    try:
        with open_database().session() as session:
            report = shadow_report(
                session,
                _site(session, site_id),
                since=parse_moment(since),
                until=parse_moment(until) if until else None,
                candidate_id=candidate_id,
            )
            print_json(report)
    except Exception as exc:
        fail(exc)


@shadow.command("promote")
@click.argument("site_id")
@click.option("--why", default=None)
def shadow_promote(site_id: str, why: str | None) -> None:
    """Make the candidate's policy live (one new, audited policy version)."""
    from civil.tuning.shadow import promote_candidate

    try:
        with open_database().session() as session:
            print_json(promote_candidate(session, _site(session, site_id), actor=actor(), why=why))
    except Exception as exc:
        fail(exc)


@shadow.command("detach")
@click.argument("site_id")
def shadow_detach(site_id: str) -> None:
    """Stop running the candidate (its shadow decisions stay for reports)."""
    from civil.tuning.shadow import detach_candidate

    try:
        with open_database().session() as session:
            detach_candidate(session, _site(session, site_id), actor=actor())
            print_json({"site_id": site_id, "candidate": None})
    except Exception as exc:
        fail(exc)
