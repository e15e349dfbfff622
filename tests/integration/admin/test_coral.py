"""POST /v1/sites/{site_id}/coral with requests built as Coral builds them, signature included."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from civil import coral
from civil.decision import pipeline
from civil.decision.policy import Policy, Reason, decide
from civil.models import Article, AuditEntry, Author, Comment, Site
from civil.scoring import TOXICITY_LABELS
from civil.sites import Credentials, create_site
from tests.support.coral import (
    Phase,
    SigningSecret,
    fetch_options,
    moderation_request,
    new_signing_secret,
    read_answer,
    stringify,
)


def _site(backend: Any, timeout_ms: int = 1000) -> tuple[Credentials, Phase]:
    with backend.db.session() as session:
        creds = create_site(session, name="Coral site", callback_url=None)
    secret = new_signing_secret()
    r = backend.admin(
        "PUT", f"/sites/{creds.site_id}/coral", json={"secret": secret, "timeout_ms": timeout_ms}
    )
    assert r.status_code == 200, r.json
    phase = Phase(
        f"/v1/sites/{creds.site_id}/coral", [SigningSecret(secret)], timeout_ms=timeout_ms
    )
    return creds, phase


def _send(backend: Any, phase: Phase, request: dict[str, Any], **kw: Any) -> Any:
    body, headers = fetch_options(phase.signing_secrets, request, **kw)
    return backend.client.post(phase.url, data=body, headers=headers)


def _comments(backend: Any, site_id: str) -> list[Comment]:
    with backend.db.session() as session:
        rows = session.scalars(
            select(Comment).where(Comment.site_id == site_id).order_by(Comment.id)
        )
        out = list(rows)
        for row in out:
            _ = row.article, row.author
        return out


def _queued(backend: Any) -> int:
    return len(list((backend.settings.broker_dir / "queue").glob("*.scoring.msg")))


def _decide(backend: Any, comment_id: int, revision: int, **scores: float) -> None:
    """Record a decision through the pipeline's own record path (what a worker does)."""
    spam = scores.pop("spam", 0.01)
    tox = dict.fromkeys(TOXICITY_LABELS, 0.01) | scores
    hits: list[Reason] = []
    decision = decide(Policy(), toxicity=tox, spam=spam, rule_hits=hits, model="test")
    job = pipeline.Job(comment_id, revision, "", Policy(), [], spam)
    assert pipeline.record(backend.db, job, decision) is not None


def test_new_comment_is_stored_queued_and_coral_carries_on_when_undecided(backend) -> None:
    creds, phase = _site(backend, timeout_ms=1000)
    request = moderation_request(parent_id=None)
    started = time.monotonic()
    r = _send(backend, phase, request)
    elapsed = time.monotonic() - started
    assert r.status_code == 204 and r.data == b""
    assert read_answer(r.status_code, r.get_data(as_text=True)) is None
    # Waited for a decision, and answered before Coral's timeout aborts the request.
    assert 0.5 <= elapsed < phase.timeout_ms / 1000, elapsed
    [comment] = _comments(backend, creds.site_id)
    assert comment.external_id.startswith(coral.ID_PREFIX)
    assert comment.content == request["comment"]["body"] and comment.content_type == "text/html"
    assert comment.article.external_id == request["story"]["id"]
    assert comment.article.url == request["story"]["url"]
    assert comment.author.external_id == request["author"]["id"]
    assert comment.parent_external_id is None
    assert (comment.status, comment.revision) == ("pending", 1)
    assert _queued(backend) == 1


def test_text_format_reply_is_plain_text_with_its_parent(backend) -> None:
    creds, phase = _site(backend, timeout_ms=200)
    request = moderation_request(phase_format="TEXT", parent_id="d79b787f-f406-49a0-a179")
    assert _send(backend, phase, request).status_code == 204
    [comment] = _comments(backend, creds.site_id)
    assert comment.content_type == "text/plain"
    assert comment.content == "A thoughtful comment about the bike lanes."
    assert comment.parent_external_id == "d79b787f-f406-49a0-a179"


def test_an_edit_is_a_new_revision_of_the_authors_comment_and_a_replay_is_a_no_op(backend) -> None:
    creds, phase = _site(backend, timeout_ms=200)
    top = moderation_request(body_html="<p>First take.</p>")
    reply = moderation_request(body_html="<p>A reply.</p>", parent_id="p-1")
    other = moderation_request(body_html="<p>Someone else.</p>", author_id="u-other")
    for request in (top, reply, other):
        assert _send(backend, phase, request).status_code == 204
    assert _send(backend, phase, top).status_code == 204  # Coral sending it again: a replay
    edit = moderation_request(action="EDIT", body_html="<p>First take, corrected.</p>")
    assert _send(backend, phase, edit).status_code == 204
    rows = {c.content: c for c in _comments(backend, creds.site_id)}
    assert set(rows) == {"<p>First take, corrected.</p>", "<p>A reply.</p>", "<p>Someone else.</p>"}
    edited = rows["<p>First take, corrected.</p>"]
    assert edited.revision == 2 and edited.status == "pending"
    assert rows["<p>A reply.</p>"].revision == 1 and rows["<p>Someone else.</p>"].revision == 1
    assert _queued(backend) == 4  # three new comments and one edit; the replay queued nothing


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"toxicity": 0.05}, {"status": "APPROVED"}),
        (
            {"toxicity": 0.7},
            {
                "status": "SYSTEM_WITHHELD",
                "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
            },
        ),
        # The default policy holds incivility, however sure, and rejects only severe harm.
        (
            {"insult": 0.99},
            {
                "status": "SYSTEM_WITHHELD",
                "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
            },
        ),
        (
            {"threat": 0.99},
            {
                "status": "REJECTED",
                "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
            },
        ),
        (
            {"spam": 0.999},
            {
                "status": "REJECTED",
                "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}],
            },
        ),
    ],
)
def test_a_decided_comment_is_answered_in_corals_terms(backend, scores, expected) -> None:
    creds, phase = _site(backend, timeout_ms=300)
    request = moderation_request()
    assert _send(backend, phase, request).status_code == 204
    [comment] = _comments(backend, creds.site_id)
    _decide(backend, comment.id, comment.revision, **scores)
    r = _send(backend, phase, request)
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert read_answer(r.status_code, r.get_data(as_text=True)) == expected
    if expected["status"] == "REJECTED":
        reason = r.json["rejectionReason"]
        assert reason["code"] == ("SPAM" if "spam" in scores else "ABUSIVE")
        assert reason["detailedExplanation"]
    else:
        assert "rejectionReason" not in r.json


def test_signatures_from_a_wrong_or_another_sites_secret_are_refused(backend) -> None:
    creds, phase = _site(backend)
    _, other_phase = _site(backend)
    request = moderation_request()
    wrong = Phase(phase.url, [SigningSecret(new_signing_secret())])
    theirs = Phase(phase.url, other_phase.signing_secrets)
    for attempt in (wrong, theirs):
        r = _send(backend, attempt, request)
        assert r.status_code == 401 and r.json["error"] == "invalid_signature", r.json
    body, headers = fetch_options(phase.signing_secrets, request)
    del headers["X-Coral-Signature"]
    r = backend.client.post(phase.url, data=body, headers=headers)
    assert r.status_code == 401 and r.json["error"] == "invalid_signature"
    # Signed, then changed on the way: the signature is over the exact bytes.
    body, headers = fetch_options(phase.signing_secrets, request)
    tampered = body.replace(b"thoughtful", b"hateful!!!")
    r = backend.client.post(phase.url, data=tampered, headers=headers)
    assert r.status_code == 401
    assert _comments(backend, creds.site_id) == [] and _queued(backend) == 0


def test_a_site_without_coral_and_an_unknown_site_are_refused(backend) -> None:
    with backend.db.session() as session:
        plain = create_site(session, name="No Coral", callback_url=None)
    phase = Phase(f"/v1/sites/{plain.site_id}/coral", [SigningSecret(new_signing_secret())])
    r = _send(backend, phase, moderation_request())
    assert r.status_code == 403 and r.json["error"] == "coral_not_configured"
    r = _send(
        backend, Phase("/v1/sites/site_missing/coral", phase.signing_secrets), moderation_request()
    )
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_bad_bodies_are_refused_in_the_error_shape_and_nothing_is_stored(backend) -> None:
    creds, phase = _site(backend)
    broken = moderation_request()
    del broken["story"]
    r = _send(backend, phase, broken)
    assert r.status_code == 422 and r.json["error"] == "validation_failed"
    assert any(e["loc"][0] == "story" for e in r.json["details"]["errors"])
    not_json = "this is not json"
    headers = fetch_options(phase.signing_secrets, {})[1]
    headers["X-Coral-Signature"] = (
        "sha256="
        + coral.hmac.new(
            phase.signing_secrets[0].secret.encode(), not_json.encode(), coral.hashlib.sha256
        ).hexdigest()
    )
    r = backend.client.post(phase.url, data=not_json, headers=headers)
    assert r.status_code == 400 and r.json["error"] == "invalid_json"
    empty = moderation_request(body_html="   ")
    r = _send(backend, phase, empty)
    assert r.status_code == 422
    limit = backend.settings.max_comment_chars
    too_long = moderation_request(body_html="<p>" + "x" * limit + "</p>")
    r = _send(backend, phase, too_long)
    assert r.status_code == 422 and r.json["error"] == "comment_too_long"
    assert r.json["details"] == {"length": limit + 7, "limit": limit}
    assert _comments(backend, creds.site_id) == [] and _queued(backend) == 0


def test_rotation_keeps_the_old_secret_valid_for_its_grace(backend) -> None:
    creds, phase = _site(backend)
    old = phase.signing_secrets[0]
    new = SigningSecret(new_signing_secret())
    r = backend.admin(
        "PUT", f"/sites/{creds.site_id}/coral", json={"secret": new.secret, "grace_seconds": 3600}
    )
    assert r.status_code == 200 and len(r.json["secrets"]) == 2
    assert old.secret not in r.get_data(as_text=True) and new.secret not in r.get_data(as_text=True)
    # During Coral's own rotation it signs with both: each alone verifies too.
    for secrets in ([old], [new], [old, new]):
        body = moderation_request(
            body_html=f"<p>signed by {len(secrets)} {secrets[0].secret[-4:]}</p>"
        )
        assert _send(backend, Phase(phase.url, secrets), body).status_code == 204
    with backend.db.session() as session:
        site = session.get(Site, creds.site_id)
        signed = stringify(moderation_request()).encode()
        header = fetch_options([old], moderation_request())[1]["X-Coral-Signature"]
        later = datetime.now(UTC) + timedelta(hours=2)
        with pytest.raises(coral.Unauthorized):
            coral.verify(site, signed, header, now=later)  # the grace is over
    newest = SigningSecret(new_signing_secret())
    r = backend.admin(
        "PUT", f"/sites/{creds.site_id}/coral", json={"secret": newest.secret, "grace_seconds": 0}
    )
    assert r.status_code == 200 and len(r.json["secrets"]) == 1
    assert _send(backend, Phase(phase.url, [new]), moderation_request()).status_code == 401
    assert _send(backend, Phase(phase.url, [newest]), moderation_request()).status_code == 204
    with backend.db.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.site_id == creds.site_id)
        ).all()
        assert actions.count("site.coral_secret") == 3
        assert session.scalar(select(func.count()).select_from(Article)) == 1
        assert session.scalar(select(func.count()).select_from(Author)) == 1
