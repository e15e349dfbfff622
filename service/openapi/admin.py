"""The admin API's and the Coral phase's paths of /openapi.json."""

from __future__ import annotations

from typing import Any

from service.openapi.components import ref
from service.openapi.paths import BODY_ERRORS, SITE, err, json_body, ok

SECURITY = [{"adminToken": []}]
AUTH = {
    "401": err("missing or wrong admin token (`unauthorized`), or a disabled account"),
    "403": err("a non-admin moderator's token or a site's API key (`not_admin`)"),
}
MODERATOR = {
    "name": "moderator_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
NOT_FOUND = {"404": err("no such site or moderator")}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "security": SECURITY, "responses": {**responses, **AUTH}, **extra}


def _site_paths() -> dict[str, Any]:
    site = ok("the site", ref("SiteOut"))
    return {
        "/v1/admin/sites": {
            "get": _op("Every site (never keys)", {"200": ok("sites", ref("SiteList"))}),
            "post": _op(
                "Create a site (audited); its API key is shown only here",
                {"201": ok("created", ref("SiteCredentials")), **BODY_ERRORS},
                requestBody=json_body("SiteCreate"),
            ),
        },
        "/v1/admin/sites/{site_id}": {
            "get": _op("One site", {"200": site, **NOT_FOUND}, parameters=[SITE]),
            "patch": _op(
                "Change callback URL, policy or notification settings (merged; audited)",
                {"200": site, **BODY_ERRORS, **NOT_FOUND},
                parameters=[SITE],
                requestBody=json_body("SiteUpdate"),
            ),
            "delete": _op(
                "Delete a site with its comments and deliveries (audited)",
                {"200": ok("deleted", ref("Deleted")), **NOT_FOUND},
                parameters=[SITE],
            ),
        },
        "/v1/admin/sites/{site_id}/rotate-key": {
            "post": _op(
                "Issue a new API key; the old one stops working at once (audited)",
                {"200": ok("the new key", ref("RotatedKey")), **NOT_FOUND},
                parameters=[SITE],
            )
        },
        "/v1/admin/sites/{site_id}/rotate-secret": {
            "post": _op(
                "Issue a new callback signing secret (audited)",
                {"200": ok("the new secret", ref("RotatedSecret")), **NOT_FOUND},
                parameters=[SITE],
            )
        },
        "/v1/admin/sites/{site_id}/coral": {
            "get": _op(
                "The Coral phase's secrets (kids only) and timeout",
                {"200": ok("configuration", ref("CoralConfig")), **NOT_FOUND},
                parameters=[SITE],
            ),
            "put": _op(
                "Set the Coral phase's signing secret; the ones it replaces verify until "
                "grace_seconds have passed (audited)",
                {"200": ok("configuration", ref("CoralConfig")), **BODY_ERRORS, **NOT_FOUND},
                parameters=[SITE],
                requestBody=json_body("CoralSecretIn"),
            ),
            "delete": _op(
                "Stop serving Coral for the site (audited)",
                {"200": ok("cleared", ref("Deleted")), **NOT_FOUND},
                parameters=[SITE],
            ),
        },
    }


def _moderator_paths() -> dict[str, Any]:
    one = ok("the account", ref("ModeratorOut"))
    return {
        "/v1/admin/moderators": {
            "get": _op(
                "Every account (never hashes or tokens)",
                {"200": ok("accounts", ref("ModeratorList"))},
            ),
            "post": _op(
                "Create an account (audited); its token is shown only here",
                {
                    "201": ok("created", ref("ModeratorCreated")),
                    "409": err("e-mail taken"),
                    **BODY_ERRORS,
                    **NOT_FOUND,
                },
                requestBody=json_body("ModeratorCreate"),
            ),
        },
        "/v1/admin/moderators/{moderator_id}": {
            "get": _op("One account", {"200": one, **NOT_FOUND}, parameters=[MODERATOR]),
            "patch": _op(
                "Disable or re-enable an account, or replace its sites (audited)",
                {"200": one, **BODY_ERRORS, **NOT_FOUND},
                parameters=[MODERATOR],
                requestBody=json_body("ModeratorUpdate"),
            ),
            "delete": _op(
                "Remove an account (audited; its audit entries stay)",
                {"200": ok("deleted", ref("Deleted")), **NOT_FOUND},
                parameters=[MODERATOR],
            ),
        },
        "/v1/admin/moderators/{moderator_id}/password": {
            "post": _op(
                "Set a new password; lifts a lock-out, ends every session (audited)",
                {"200": one, **BODY_ERRORS, **NOT_FOUND},
                parameters=[MODERATOR],
                requestBody=json_body("PasswordReset"),
            )
        },
        "/v1/admin/moderators/{moderator_id}/rotate-token": {
            "post": _op(
                "Issue a new API token; the old one stops working (audited)",
                {"200": ok("the new token", ref("RotatedToken")), **NOT_FOUND},
                parameters=[MODERATOR],
            )
        },
    }


def coral_paths() -> dict[str, Any]:
    return {
        "/v1/sites/{site_id}/coral": {
            "post": {
                "summary": "Coral Talk's External Moderation Phase",
                "description": (
                    "Enter this URL as an External Moderation Phase in Coral's admin "
                    "(Configure → Moderation). Authenticated by `X-Coral-Signature` "
                    "(`sha256=<hex HMAC-SHA256 of the body>`, comma-separated while Coral "
                    "rotates), not by an API key. Stores the comment (an `EDIT` is a new "
                    "revision), waits for Civil's decision until just before the phase's "
                    "timeout, and answers Coral's status with flags and a rejection reason; "
                    "`204` when undecided, so Coral carries on."
                ),
                "security": [],
                "parameters": [
                    SITE,
                    {
                        "name": "X-Coral-Signature",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": json_body("CoralRequest"),
                "responses": {
                    "200": ok("Civil's decision in Coral's terms", ref("CoralResponse")),
                    "204": {"description": "not decided within the phase's timeout"},
                    **BODY_ERRORS,
                    "401": err("missing signature, or it matches no active secret"),
                    "403": err("no Coral signing secret is set for this site"),
                    "404": err("no such site"),
                    "429": err("rate limited"),
                },
            }
        }
    }


def paths() -> dict[str, Any]:
    return {**_site_paths(), **_moderator_paths(), **coral_paths()}
