"""A site's policy over the API: read it, change it (a new version), its history, its shadow
candidate's report and promotion, and calibration from its moderators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from civil.errors import InvalidInput
from civil.models import Site
from civil.schema import (
    Calibration,
    PolicyChangeIn,
    PolicyHistory,
    PolicyState,
    Promoted,
    ShadowReport,
)
from civil.sites import change_policy
from civil.toxicity.loader import SHIPPED_SPECS
from civil.tuning import calibration, shadow
from civil.tuning.versions import policy_history, version_view
from civil.tuning.window import parse_moment
from service.auth import require_site
from service.context import database, parse_body

bp = Blueprint("policy", __name__)


def _actor(site: Site) -> str:
    # The API key is the site's: changes made with it are the site's own.
    return f"site:{site.id}"


def _state(site: Site) -> dict[str, Any]:
    return PolicyState(
        site_id=site.id,
        policy_version=site.policy_version,
        policy=site.policy,
        candidate=site.candidate,
    ).wire()


@bp.get("/v1/sites/<site_id>/policy")
def show(site_id: str) -> Response:
    """The live policy, its version, and the shadow candidate if one runs."""
    with database().session() as session:
        return jsonify(_state(require_site(session, site_id)))


@bp.patch("/v1/sites/<site_id>/policy")
def change(site_id: str) -> Response:
    """Merge changes over the live policy: a new version with who, when, why and the diff."""
    with database().session() as session:
        site = require_site(session, site_id)
        body = parse_body(PolicyChangeIn, "the policy change")
        changes = body.changes.model_dump(exclude_unset=True)
        model = changes.get("toxicity_model")
        if model is not None and model not in SHIPPED_SPECS:
            raise InvalidInput(
                "a site may choose one of the shipped toxicity models",
                {"field": "changes.toxicity_model", "allowed": list(SHIPPED_SPECS)},
            )
        change_policy(session, site, changes, actor=_actor(site), source="api", why=body.why)
        return jsonify(_state(site))


@bp.get("/v1/sites/<site_id>/policy/versions")
def versions(site_id: str) -> Response:
    """Every policy version, newest first."""
    with database().session() as session:
        site = require_site(session, site_id)
        rows = [version_view(row) for row in policy_history(session, site.id)]
        body = PolicyHistory.model_validate(
            {"site_id": site.id, "live_version": site.policy_version, "versions": rows}
        )
        return jsonify(body.wire())


@bp.get("/v1/sites/<site_id>/shadow/report")
def shadow_report(site_id: str) -> Response:
    """How the shadow candidate's decisions differ from the live ones over ?since..?until."""
    args = request.args
    with database().session() as session:
        site = require_site(session, site_id)
        report = shadow.shadow_report(
            session,
            site,
            since=parse_moment(args.get("since", "24h")),
            until=parse_moment(args["until"]) if args.get("until") else None,
            candidate_id=args.get("candidate"),
        )
        return jsonify(ShadowReport.model_validate(report).wire())


@bp.post("/v1/sites/<site_id>/shadow/promote")
def promote(site_id: str) -> Response:
    """Make the candidate's policy live: one new, audited policy version."""
    with database().session() as session:
        site = require_site(session, site_id)
        outcome = shadow.promote_candidate(session, site, actor=_actor(site))
        return jsonify(Promoted.model_validate(outcome).wire())


@bp.get("/v1/sites/<site_id>/calibration")
def calibrate(site_id: str) -> Response:
    """Precision and volume against threshold from the site's moderators, with proposals."""
    target = request.args.get("target", type=float)
    with database().session() as session:
        site = require_site(session, site_id)
        report = calibration.calibrate(session, site, target)
        report["proposal"] = calibration.proposal_changes(report)
        return jsonify(Calibration.model_validate(report).wire())
