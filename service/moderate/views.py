"""Workspace pages: login, the queue, one comment, actions, bulk actions, ops (admins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from civil.delivery.events import replay_event
from civil.errors import CivilError
from civil.moderation import accounts as moderators
from civil.moderation import actions, claims, queue, review
from civil.moderation.accounts import Identity
from civil.ops import throughput
from civil.ops.series import last_hour_series
from service.broker import amqp_reader, send_deliveries
from service.context import database, settings
from service.errors import error_response
from service.limits import limiter
from service.moderate.charts import ops_charts

bp = Blueprint(
    "moderate",
    __name__,
    url_prefix="/moderate",
    template_folder="templates",
    static_folder="static",
)
PUBLIC = {"moderate.login", "moderate.static"}
PAGE = 25
LABELS = {
    "approve": "Approved",
    "reject": "Rejected",
    "spam": "Marked spam",
    "not_spam": "Marked not spam",
    "trust": "Author trusted",
    "premoderate": "Author pre-moderated",
    "ban": "Author banned",
    "clear_standing": "Author standing cleared",
}


def who() -> Identity:
    identity: Identity = g.moderator
    return identity


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.before_request
def _guard() -> Response | None:
    # CSRF first: every state-changing request of the workspace carries the token, login too.
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
    g.moderator = None
    moderator_id = session.get("moderator_id")
    if moderator_id is not None:
        with database().session() as db_session:
            g.moderator = moderators.by_id(db_session, int(moderator_id))
        if g.moderator is not None and session.get("generation") != g.moderator.session_generation:
            g.moderator = None  # a cookie from before a logout: no longer valid anywhere
        if g.moderator is None:
            session.clear()
    if g.moderator is None and request.endpoint not in PUBLIC:
        if _wants_json():
            return error_response(401, "unauthorized", "log in first")
        return redirect(url_for(".login", next=request.full_path.rstrip("?")))
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    # Pages are per moderator and change with every action: never cached, never framed.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    return response


def _error_page(status: int, code: str, message: str, details: Any = None) -> Any:
    if _wants_json():
        return error_response(status, code, message, details or {})
    return render_template("error.html", status=status, code=code, message=message), status


@bp.errorhandler(CSRFError)
def _csrf(exc: CSRFError) -> Any:
    return _error_page(400, "csrf_failed", f"The form was refused: {exc.description} Reload it.")


@bp.errorhandler(RateLimitExceeded)
def _limited(exc: RateLimitExceeded) -> Any:
    return _error_page(429, "rate_limited", "Too many login attempts. Wait a minute.")


@bp.errorhandler(CivilError)
def _civil(exc: CivilError) -> Any:
    return _error_page(exc.status, exc.code, exc.message, exc.details)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Any:
    return _error_page(exc.code or 500, "http_error", exc.description or "error")


def _safe_next(target: str | None) -> str:
    # Only back into the workspace: never an open redirect to another host, nor a path
    # that dot segments, backslashes or control characters turn into something else.
    path = (target or "").partition("?")[0]
    if (
        target
        and (path == "/moderate" or path.startswith("/moderate/"))
        and ".." not in unquote(path).split("/")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return url_for(".queue")


# --- login -----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute", key_func=get_remote_address, methods=["POST"])
def login() -> Any:
    """Show the login form; check the password (failures count towards a lock-out)."""
    error = None
    if request.method == "POST":
        try:
            identity = moderators.attempt_login(
                database(), request.form.get("email", ""), request.form.get("password", "")
            )
        except CivilError as exc:
            error = exc.message
        else:
            # A fresh session on login: nothing from before the login carries over.
            session.clear()
            session.permanent = True
            session["moderator_id"] = identity.id
            session["generation"] = identity.session_generation
            return redirect(_safe_next(request.form.get("next")), 303)
    status = 401 if error else 200
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.post("/logout")
def logout() -> Response:
    """End the session: this cookie and every copy of it."""
    if g.moderator is not None:
        moderators.end_sessions(database(), g.moderator.id)
    session.clear()
    return redirect(url_for(".login"), 303)


# --- the queue -------------------------------------------------------------------------------

FILTER_KEYS = tuple(queue.QueueFilter.__dataclass_fields__)


def _filter(values: Mapping[str, str]) -> queue.QueueFilter:
    return queue.QueueFilter.parse({k: values.get(k) for k in FILTER_KEYS if values.get(k)})


def _page(flt: queue.QueueFilter, cursor: str | None) -> dict[str, Any]:
    with database().session() as db_session:
        rows, next_cursor = queue.queue_page(db_session, who(), flt, cursor, PAGE)
        return {
            "items": [review.item_view(db_session, c, full=False) for c in rows],
            "next_cursor": next_cursor,
            "total": queue.queue_count(db_session, who(), flt),
            "sites": queue.moderator_sites(db_session, who()),
        }


@bp.get("", endpoint="queue")
def queue_view() -> str:
    """The review queue with its views, filters, search and keyset paging."""
    flt = _filter(request.args)
    page = _page(flt, request.args.get("cursor"))
    return render_template(
        "queue.html",
        flt=flt,
        filters=flt.to_dict(),
        cursor=request.args.get("cursor"),
        reject_reasons=actions.REJECT_REASONS,
        **page,
    )


@bp.get("/queue/items")
def queue_items() -> str:
    """The first page of the list alone: what the page polls to refresh without a reload."""
    flt = _filter(request.args)
    page = _page(flt, None)
    return render_template(
        "_list.html",
        flt=flt,
        filters=flt.to_dict(),
        reject_reasons=actions.REJECT_REASONS,
        **page,
    )


@bp.get("/comments/<int:comment_id>")
def item(comment_id: int) -> str:
    """One comment with its context, scores, reasons, audit trail; opening it claims it."""
    with database().session() as db_session:
        comment = queue.visible_comment(db_session, who(), comment_id)
        try:
            with db_session.begin_nested():
                claims.claim(db_session, who(), comment_id)
        except CivilError:
            pass  # someone else has it: the page says who
        view = review.item_view(db_session, comment)
    return render_template(
        "item.html", item=view, reject_reasons=actions.REJECT_REASONS, detail=True
    )


@bp.post("/comments/<int:comment_id>/claim")
def claim(comment_id: int) -> Response:
    """Claim a comment for a few minutes (the queue does this when an item gets focus)."""
    with database().session() as db_session:
        until = claims.claim(db_session, who(), comment_id)
    return jsonify({"id": comment_id, "claimed_until": until.isoformat()})


@bp.post("/comments/<int:comment_id>/action")
def action(comment_id: int) -> Any:
    """Approve, reject, mark spam / not spam, or set the author's standing."""
    form = request.form
    with database().session() as db_session:
        outcome = actions.act(
            db_session,
            who(),
            comment_id,
            form.get("action", ""),
            form.get("reason") or None,
            form.get("note") or None,
            expect_status=form.get("expect_status") or None,
        )
    # After the commit: the events are in the outbox, so a lost send is re-sent by the dispatcher.
    send_deliveries(outcome.event_ids)
    message = LABELS.get(outcome.action, outcome.action)
    if _wants_json():
        with database().session() as db_session:
            comment = queue.visible_comment(db_session, who(), comment_id)
            view = review.item_view(db_session, comment, full=False)
        html = render_template(
            "_item.html", item=view, reject_reasons=actions.REJECT_REASONS, done=message
        )
        return jsonify({**outcome.to_dict(), "message": message, "html": html})
    flash(f"{message}: comment {outcome.comment_id}")
    return redirect(_safe_next(form.get("next")), 303)


# --- bulk ------------------------------------------------------------------------------------


def _bulk_form() -> tuple[queue.QueueFilter, str, str | None, str | None]:
    form = request.form
    flt = _filter(form)
    return flt, form.get("action", ""), form.get("reason") or None, form.get("note") or None


@bp.post("/bulk")
def bulk_preview() -> str:
    """Dry run: how many comments the filter matches, and a button to apply the action."""
    flt, action_name, reason, note = _bulk_form()
    with database().session() as db_session:
        result = actions.bulk(db_session, who(), flt, action_name, reason, note, dry_run=True)
        sample, _ = queue.queue_page(db_session, who(), flt, None, 5)
        sample_views = [review.item_view(db_session, c, full=False) for c in sample]
    return render_template(
        "bulk.html",
        result=result.to_dict(),
        filters=flt.to_dict(),
        action=action_name,
        reason=reason,
        note=note,
        sample=sample_views,
    )


@bp.post("/bulk/apply")
def bulk_apply() -> str:
    """Apply the previewed bulk action (refused if the count changed since the preview)."""
    flt, action_name, reason, note = _bulk_form()
    expected = request.form.get("expected", type=int)
    with database().session() as db_session:
        result = actions.bulk(
            db_session,
            who(),
            flt,
            action_name,
            reason,
            note,
            dry_run=False,
            expected=expected,
        )
    body = result.to_dict()
    send_deliveries(body["event_ids"])
    return render_template(
        "bulk.html",
        result=body,
        filters=flt.to_dict(),
        action=action_name,
        reason=reason,
        note=note,
        sample=[],
    )


# --- audit and ops ---------------------------------------------------------------------------


@bp.get("/audit")
def audit() -> str:
    """The latest moderator actions on this moderator's sites."""
    with database().session() as db_session:
        entries = [review.audit_view(e) for e in actions.recent_audit(db_session, who())]
    return render_template("audit.html", entries=entries)


@bp.get("/ops")
def ops() -> str:
    """Workers, queue depths, throughput and latency, dead letters, recent deliveries."""
    if not who().is_admin:
        abort(403, "The ops view is for admins.")
    from civil.tuning.surges import surging_articles

    producer = current_app.extensions["civil"]["producer"]
    overview = throughput.overview(database(), settings(), reader=amqp_reader(settings(), producer))
    charts = ops_charts(last_hour_series(database()))
    with database().session() as db_session:
        surges = surging_articles(db_session)
    return render_template("ops.html", ops=overview, charts=charts, surges=surges)


@bp.post("/ops/deliveries/<event_id>/replay")
def replay(event_id: str) -> Response:
    """Replay a dead-lettered delivery (same webhook-id, fresh retry window)."""
    if not who().is_admin:
        abort(403, "The ops view is for admins.")
    with database().session() as db_session:
        replay_event(db_session, event_id)
    send_deliveries([event_id])
    flash(f"Delivery {event_id} queued again")
    return redirect(url_for(".ops"), 303)


# --- policy: history, overrides, calibration, shadow -----------------------------------------

SHOWN_SETTINGS = ("mode", "closed", "hold_thresholds.toxicity", "thresholds.toxicity")


def _visible_site(db_session: Any, site_id: str) -> Any:
    """The site, if this moderator works on it (404 otherwise, as for comments)."""
    from civil.models import Site

    site = db_session.get(Site, site_id)
    allowed = who().site_ids is None or site_id in (who().site_ids or ())
    if site is None or not allowed:
        abort(404, "No such site.")
    return site


def _setting(policy: Any, key: str) -> Any:
    name, _, label = key.partition(".")
    value = getattr(policy, name)
    return value.get(label) if label else value


def _override_rows(site: Any) -> list[dict[str, Any]]:
    from civil.decision.policy import Policy

    base = Policy.from_dict(site.policy)
    scopes = [(f"Section “{s}”", None, s) for s in sorted(base.sections)]
    scopes += [(f"Article “{a}”", a, None) for a in sorted(base.articles)]
    out = []
    for title, article, section in scopes:
        effective, origin = base.effective(article, section)
        keys = list(dict.fromkeys([*origin, *SHOWN_SETTINGS]))
        rows = [
            {"key": k, "value": _setting(effective, k), "origin": origin.get(k, "inherited")}
            for k in keys
        ]
        out.append({"scope": title, "rows": rows})
    return out


@bp.get("/sites")
def policies() -> str:
    """This moderator's sites with their policy version and candidate."""
    with database().session() as db_session:
        sites = queue.moderator_sites(db_session, who())
        return render_template("policies.html", sites=sites)


@bp.get("/sites/<site_id>/policy")
def policy(site_id: str) -> str:
    """The site's live policy version, its overrides (inherited settings marked), its history."""
    from civil.tuning.versions import policy_history, version_view

    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        history = [version_view(v) for v in policy_history(db_session, site.id, 50)]
        return render_template(
            "policy.html", site=site, history=history, overrides=_override_rows(site)
        )


@bp.post("/sites/<site_id>/policy")
def policy_change(site_id: str) -> Response:
    """Merge a JSON change over the site's policy from the workspace: a new, audited version."""
    import json

    from civil.errors import InvalidInput
    from civil.tuning.versions import change_policy

    try:
        changes = json.loads(request.form.get("changes") or "")
    except ValueError as exc:
        raise InvalidInput("the change is not JSON", {"field": "changes"}) from exc
    if not isinstance(changes, dict):
        raise InvalidInput("the change is a JSON object of settings", {"field": "changes"})
    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        version = change_policy(
            db_session,
            site,
            changes,
            actor=who().email,
            source="workspace",
            why=request.form.get("why") or None,
        )
    flash(f"Policy version {version.version} is live" if version else "Nothing changed")
    return redirect(url_for(".policy", site_id=site_id), 303)


@bp.get("/sites/<site_id>/calibration")
def calibration(site_id: str) -> str:
    """Precision and volume against threshold per label, today's thresholds, proposals."""
    from civil.tuning import calibration as calibrating
    from service.moderate.charts import calibration_chart

    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        report = calibrating.calibrate(db_session, site, request.args.get("target", type=float))
        report["proposal"] = calibrating.proposal_changes(report)
        charts = {
            name: calibration_chart(name, entry)
            for name, entry in report["labels"].items()
            if entry["status"] == "ok"
        }
        return render_template("calibration.html", site=site, report=report, charts=charts)


@bp.post("/sites/<site_id>/calibration/apply")
def calibration_apply(site_id: str) -> Response:
    """Apply the proposal for the target precision: one new, audited policy version."""
    from civil.tuning import calibration as calibrating

    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        report = calibrating.calibrate(db_session, site, request.form.get("target", type=float))
        version = calibrating.apply_proposal(
            db_session, site, report, actor=who().email, why=request.form.get("why") or None
        )
    flash(f"Policy version {version.version} applied" if version else "Nothing to apply")
    return redirect(url_for(".policy", site_id=site_id), 303)


@bp.get("/sites/<site_id>/shadow")
def shadow(site_id: str) -> str:
    """The shadow candidate's report over a window, with a button to promote it."""
    from civil.tuning import shadow as shadowing
    from civil.tuning.window import parse_moment

    since = request.args.get("since", "24h")
    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        report = None
        if site.candidate:
            report = shadowing.shadow_report(db_session, site, since=parse_moment(since))
        return render_template("shadow.html", site=site, report=report, since=since)


@bp.post("/sites/<site_id>/shadow/promote")
def shadow_promote(site_id: str) -> Response:
    """Make the candidate's policy live: one new, audited policy version."""
    from civil.tuning import shadow as shadowing

    with database().session() as db_session:
        site = _visible_site(db_session, site_id)
        outcome = shadowing.promote_candidate(
            db_session, site, actor=who().email, why=request.form.get("why") or None
        )
    flash(f"Candidate promoted: policy version {outcome['policy_version']}")
    return redirect(url_for(".policy", site_id=site_id), 303)
