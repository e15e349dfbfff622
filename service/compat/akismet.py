"""Akismet-compatible: /1.1/comment-check, submit-spam, submit-ham, verify-key; /1.2/usage-limit.

Answers are Akismet's bytes: `true`/`false`, `invalid` (with `X-akismet-debug-help` saying
why), `valid`, and the submit thank-you line. A comment-check is stored and queued like any
Civil comment, then answered from the worker's decision if it arrives within
CIVIL_AKISMET_DEADLINE_SECONDS; otherwise from the rules and the interim spam score, which
need no worker (`X-Civil-Verdict: provisional`). The comment is still decided as usual and
shows up in the moderator queue. `is_test` calls and blank texts are scored the same
provisional way and never stored.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from civil.comments import await_decision, find_comment, submit_comment
from civil.compat.akismet import (
    SUBMITTED,
    AkismetInvalid,
    comment_in,
    find_submitted,
    key_from,
    provisional_decision,
    spam_item,
    transient_comment,
    truthy,
    usage,
    verdict,
)
from civil.feedback import record_spam_label, record_spam_text_label
from civil.metrics import INTAKE
from civil.schema import CommentIn
from civil.spam.service import spam_input
from service.broker import enqueue_scoring
from service.compat.common import KeyedSite, key_counter, site_for_key
from service.context import database, seconds_since_arrival, settings
from service.limits import per_caller

bp = Blueprint("akismet", __name__)
log = logging.getLogger("civil.api")
DEBUG_HEADER = "X-akismet-debug-help"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _fields() -> dict[str, str]:
    """The call's fields from a JSON object or a form (query parameters count too)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise AkismetInvalid("The request body is not a JSON object.")
        return {str(name): _text(value) for name, value in body.items()}
    return {name: value for name, value in request.values.items()}


def _plain(body: str, **headers: str) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers.update(headers)
    return response


def _raw_host() -> str:
    # Werkzeug's request.host drops a Host with characters DNS forbids, and Civil keys hold
    # `_`: read the header as sent.
    return request.headers.get("Host", "")


def _key() -> str | None:
    # Also the rate limiter's key function: a body it cannot read (not a JSON object, over
    # the size limit) is left for the view to refuse in Akismet's shape.
    try:
        return key_from(_fields(), _raw_host())
    except (AkismetInvalid, HTTPException):
        return None


def _site(fields: dict[str, str]) -> KeyedSite:
    key = key_from(fields, _raw_host())
    if not key:
        raise AkismetInvalid('Empty "api_key" value.')
    site = site_for_key(key)
    if site is None:
        raise AkismetInvalid("Invalid API key: it is not the API key of a Civil site.")
    return site


@bp.errorhandler(AkismetInvalid)
def _invalid(exc: AkismetInvalid) -> Response:
    # Akismet answers a bad call with 200 and the word `invalid`; the reason rides in a header.
    return _plain("invalid", **{DEBUG_HEADER: str(exc)})


def render_http_error(exc: HTTPException) -> tuple[Response, int]:
    # E.g. a body over CIVIL_MAX_BODY_BYTES: Akismet's plain-text shape, not Civil's JSON.
    return _plain("invalid", **{DEBUG_HEADER: exc.description or str(exc.name)}), exc.code or 500


@bp.errorhandler(RateLimitExceeded)
def _limited(exc: RateLimitExceeded) -> tuple[Response, int]:
    return _plain("Too many requests.", **{DEBUG_HEADER: f"Rate limit: {exc.description}"}), 429


def _answer(decision: dict[str, Any] | None, source: str, comment_id: str | None) -> Response:
    spam, discard = verdict(decision)
    headers = {"X-Civil-Verdict": source}
    if comment_id:
        headers["X-Civil-Comment-Id"] = comment_id
    if discard:
        headers["X-akismet-pro-tip"] = "discard"
    return _plain("true" if spam else "false", **headers)


def _provisional(site: KeyedSite, data: CommentIn, stored: bool) -> dict[str, Any]:
    with database().session() as session:
        if stored:
            comment = find_comment(session, site.site_id, data.id)
            item = spam_input(comment)
        else:
            comment = transient_comment(session, site.site_id, data)
            item = spam_item(data)
        decision = provisional_decision(session, settings(), site.policy, comment, item).to_dict()
        # The transient row must never reach the database.
        session.expunge_all()
    return decision


@bp.post("/1.1/comment-check")
@per_caller(lambda: key_counter(_key()))
def comment_check() -> Response:
    """Store and queue the comment, then answer spam or not from its decision."""
    fields = _fields()
    site = _site(fields)
    data = comment_in(fields, settings().max_comment_chars)
    if truthy(fields.get("is_test", "")) or not data.content.strip():
        return _answer(_provisional(site, data, stored=False), "test", None)
    submitted = submit_comment(database(), site.site_id, data)
    INTAKE.labels(submitted.outcome).inc()
    if submitted.needs_scoring:
        enqueue_scoring(submitted.comment_id, submitted.revision)
    view = await_decision(
        database(),
        site.site_id,
        data.id,
        # Counted from when the request reached the app: Akismet clients time out.
        max(0.0, settings().akismet_deadline_seconds - seconds_since_arrival()),
        redis_url=settings().redis_url,
        comment_id=submitted.comment_id,
    )
    if view["status"] == "pending":
        log.info("akismet deadline passed; answering from the rules", extra={"id": data.id})
        return _answer(_provisional(site, data, stored=True), "provisional", data.id)
    return _answer(view.get("decision"), "decision", data.id)


def _submit(label: str) -> Response:
    fields = _fields()
    site = _site(fields)
    data = comment_in(fields, settings().max_comment_chars)
    if not data.content.strip():
        # Nothing to learn from a blank text; Akismet thanks the caller all the same.
        return _plain(SUBMITTED)
    with database().session() as session:
        comment = find_submitted(session, site.site_id, data)
        if comment is not None:
            record_spam_label(session, comment, label, "akismet")
        else:
            author = data.author
            record_spam_text_label(
                session,
                site.site_id,
                data.content,
                label,
                "akismet",
                author_email=author.email,
                author_url=author.url,
                ip=author.ip,
            )
    return _plain(SUBMITTED)


@bp.post("/1.1/submit-spam")
@per_caller(lambda: key_counter(_key()))
def submit_spam() -> Response:
    """Label the comment (or, if Civil never saw it, its text) as spam."""
    return _submit("spam")


@bp.post("/1.1/submit-ham")
@per_caller(lambda: key_counter(_key()))
def submit_ham() -> Response:
    """Label the comment (or, if Civil never saw it, its text) as ham."""
    return _submit("ham")


@bp.post("/1.1/verify-key")
@per_caller(lambda: key_counter(_key()))
def verify_key() -> Response:
    """`valid` when the key is a Civil site's API key (Akismet also requires `blog`)."""
    try:
        fields = _fields()
        _site(fields)
        if not fields.get("blog", "").strip():
            raise AkismetInvalid('Empty "blog" value.')
    except AkismetInvalid as exc:
        return _plain("invalid", **{DEBUG_HEADER: str(exc)})
    return _plain("valid")


@bp.route("/1.2/usage-limit", methods=["GET", "POST"])
@per_caller(lambda: key_counter(_key()))
def usage_limit() -> Response:
    """This month's calls; Civil sets no limit."""
    site = _site(_fields())
    with database().session() as session:
        return jsonify(usage(session, site.site_id))
