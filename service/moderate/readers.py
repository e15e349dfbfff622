"""Workspace pages for readers' reports and authors' appeals."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from civil.moderation import actions, appeals, reports
from service.broker import send_deliveries
from service.context import database
from service.moderate.views import bp, who


@bp.get("/reported")
def reported() -> str:
    """Comments readers reported that no moderator has settled, most-reported first."""
    with database().session() as db_session:
        rows = reports.reported_view(db_session, who())
        return render_template("reported.html", rows=rows, reject_reasons=actions.REJECT_REASONS)


@bp.get("/appeals")
def appeals_queue() -> str:
    """Open appeals, oldest first, each with the comment and the decision appealed."""
    with database().session() as db_session:
        rows = appeals.appeals_view(db_session, who())
        return render_template("appeals.html", rows=rows, reject_reasons=actions.REJECT_REASONS)


@bp.post("/appeals/<appeal_id>/decide")
def decide_appeal(appeal_id: str) -> Any:
    """Answer an appeal: overturned (approve) or upheld (a held comment is rejected)."""
    form = request.form
    with database().session() as db_session:
        outcome = appeals.decide_appeal(
            db_session,
            who(),
            appeal_id,
            form.get("outcome", ""),
            form.get("note") or None,
            form.get("reason") or None,
        )
    send_deliveries(outcome.event_ids)
    flash(f"Appeal {outcome.appeal_id} {outcome.outcome}: the comment is {outcome.status}")
    return redirect(url_for(".appeals_queue"), 303)
