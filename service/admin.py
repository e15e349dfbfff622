"""/v1/admin/…: sites and moderator accounts, for an admin token; every change audited.

The token is CIVIL_ADMIN_TOKEN, or the API token of an admin moderator account (then the
audit log names that person). Views parse, call civil.admin (what the CLI calls too), shape.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.orm import Session

from civil import admin, coral
from civil.errors import Forbidden, Unauthorized
from civil.moderation import accounts
from civil.schema import admin as wire
from civil.schema.coral import CoralSecretIn
from civil.sites import authenticate, get_site, list_sites, site_summary
from service.auth import bearer_token
from service.context import database, parse_body, settings

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")
ADMIN_TOKEN_ACTOR = "admin-token"  # noqa: S105 - the audit name, not a secret


def _actor(session: Session) -> str:
    """Who is calling: the admin token, or an admin moderator; 401 or 403 otherwise."""
    token = bearer_token()
    if not token:
        raise Unauthorized("missing admin token: send Authorization: Bearer <admin token>")
    configured = settings().admin_token
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return ADMIN_TOKEN_ACTOR
    if token.startswith("civmod_"):
        identity = accounts.by_token(session, token)  # 401 when wrong or disabled
        if not identity.is_admin:
            raise Forbidden("this moderator is not an admin", code="not_admin")
        return identity.email
    try:
        authenticate(session, token)
    except Unauthorized:
        raise Unauthorized("wrong admin token") from None
    raise Forbidden("a site's API key cannot use the admin API", code="not_admin")


def _site(site: Any) -> dict[str, Any]:
    return wire.SiteOut.model_validate(site_summary(site)).wire()


def _moderator(session: Session, moderator: Any) -> dict[str, Any]:
    return wire.ModeratorOut.model_validate(accounts.moderator_view(session, moderator)).wire()


def _dump(model: Any) -> dict[str, Any] | None:
    return model.model_dump(exclude_none=True) if model is not None else None


# --- sites --------------------------------------------------------------------------------


@bp.get("/sites")
def sites_index() -> Response:
    with database().session() as session:
        _actor(session)
        return jsonify(wire.SiteList(sites=[_site(s) for s in list_sites(session)]).wire())


@bp.post("/sites")
def sites_create() -> tuple[Response, int]:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(wire.SiteCreate, "the site")
        creds = admin.create_site(
            session,
            actor,
            name=body.name,
            callback_url=body.callback_url,
            policy=_dump(body.policy),
            notify=_dump(body.notify),
            allow_private=settings().allow_private_callbacks,
        )
    return jsonify(wire.SiteCredentials(**creds.to_dict()).wire()), 201


@bp.get("/sites/<site_id>")
def sites_show(site_id: str) -> Response:
    with database().session() as session:
        _actor(session)
        return jsonify(_site(get_site(session, site_id)))


@bp.patch("/sites/<site_id>")
def sites_update(site_id: str) -> Response:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(wire.SiteUpdate, "the site update")
        site = admin.update_site(
            session,
            actor,
            site_id,
            callback_url=body.callback_url,
            policy=_dump(body.policy),
            notify=_dump(body.notify),
            allow_private=settings().allow_private_callbacks,
        )
        return jsonify(_site(site))


@bp.post("/sites/<site_id>/rotate-key")
def sites_rotate_key(site_id: str) -> Response:
    with database().session() as session:
        key = admin.rotate_key(session, _actor(session), site_id)
    return jsonify(wire.RotatedKey(site_id=site_id, api_key=key).wire())


@bp.post("/sites/<site_id>/rotate-secret")
def sites_rotate_secret(site_id: str) -> Response:
    with database().session() as session:
        secret = admin.rotate_secret(session, _actor(session), site_id)
    return jsonify(wire.RotatedSecret(site_id=site_id, signing_secret=secret).wire())


@bp.delete("/sites/<site_id>")
def sites_delete(site_id: str) -> Response:
    with database().session() as session:
        admin.delete_site(session, _actor(session), site_id)
    return jsonify(wire.Deleted(deleted=site_id).wire())


@bp.get("/sites/<site_id>/coral")
def coral_show(site_id: str) -> Response:
    with database().session() as session:
        _actor(session)
        return jsonify(coral.config_view(get_site(session, site_id)))


@bp.put("/sites/<site_id>/coral")
def coral_set(site_id: str) -> Response:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(CoralSecretIn, "the Coral signing secret")
        view = admin.set_coral_secret(
            session, actor, site_id, body.secret, body.grace_seconds, body.timeout_ms
        )
    return jsonify(view)


@bp.delete("/sites/<site_id>/coral")
def coral_clear(site_id: str) -> Response:
    with database().session() as session:
        admin.clear_coral(session, _actor(session), site_id)
    return jsonify(wire.Deleted(deleted=f"{site_id}/coral").wire())


# --- moderators ---------------------------------------------------------------------------


@bp.get("/moderators")
def moderators_index() -> Response:
    with database().session() as session:
        _actor(session)
        views = [wire.ModeratorOut.model_validate(v) for v in accounts.list_moderators(session)]
        return jsonify(wire.ModeratorList(moderators=views).wire())


@bp.post("/moderators")
def moderators_create() -> tuple[Response, int]:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(wire.ModeratorCreate, "the moderator")
        moderator, token = admin.create_moderator(
            session, actor, body.email, body.password, body.site_ids, body.admin
        )
        out = wire.ModeratorCreated(**accounts.moderator_view(session, moderator), token=token)
    return jsonify(out.wire()), 201


@bp.get("/moderators/<int:moderator_id>")
def moderators_show(moderator_id: int) -> Response:
    with database().session() as session:
        _actor(session)
        return jsonify(_moderator(session, accounts.get_moderator(session, moderator_id)))


@bp.patch("/moderators/<int:moderator_id>")
def moderators_update(moderator_id: int) -> Response:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(wire.ModeratorUpdate, "the moderator update")
        moderator = accounts.get_moderator(session, moderator_id)
        if body.site_ids is not None:
            moderator = admin.assign_sites(session, actor, moderator_id, body.site_ids)
        if body.disabled is not None:
            moderator = admin.set_disabled(session, actor, moderator_id, body.disabled)
        return jsonify(_moderator(session, moderator))


@bp.post("/moderators/<int:moderator_id>/password")
def moderators_password(moderator_id: int) -> Response:
    with database().session() as session:
        actor = _actor(session)
        body = parse_body(wire.PasswordReset, "the new password")
        moderator = admin.reset_password(session, actor, moderator_id, body.password)
        return jsonify(_moderator(session, moderator))


@bp.post("/moderators/<int:moderator_id>/rotate-token")
def moderators_rotate_token(moderator_id: int) -> Response:
    with database().session() as session:
        token = admin.rotate_token(session, _actor(session), moderator_id)
    return jsonify(wire.RotatedToken(id=moderator_id, token=token).wire())


@bp.delete("/moderators/<int:moderator_id>")
def moderators_delete(moderator_id: int) -> Response:
    with database().session() as session:
        admin.delete_moderator(session, _actor(session), moderator_id)
    return jsonify(wire.Deleted(deleted=str(moderator_id)).wire())
