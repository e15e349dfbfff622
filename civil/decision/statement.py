"""The statement of reasons a rejection carries, for the site to show the author (EU DSA art. 17).

The ground is the first rejecting reason; its code picks a plain-language sentence written for
the author, not for moderators (no scores, thresholds or model names).
"""

from __future__ import annotations

from typing import Any

from civil.schema.readers import Statement

REDRESS = (
    "If you think this is a mistake, you can appeal and a person will look at your comment again."
)
GROUNDS: dict[str, str] = {
    "toxic": "Your comment was removed because it appears to be toxic or disrespectful.",
    "toxic_severe_toxicity": "Your comment was removed because it appears to be severely toxic.",
    "toxic_obscene": "Your comment was removed because it contains obscene language.",
    "toxic_threat": "Your comment was removed because it appears to contain a threat.",
    "toxic_insult": "Your comment was removed because it appears to insult someone.",
    "toxic_identity_attack": (
        "Your comment was removed because it appears to attack people for who they are."
    ),
    "spam": "Your comment was removed because it looks like spam.",
    "spam_discard": "Your comment was removed because it looks like spam.",
    "spam_links": "Your comment was removed because it contains too many links.",
    "honeypot": "Your comment was removed because it looks like it was sent automatically.",
    "banned_word": "Your comment was removed because it uses words this site does not allow.",
    "author_banned": "Your comment was removed because your account may not comment here.",
    "reported": "Your comment was removed after several readers reported it.",
    "scorer_unavailable": (
        "Your comment could not be checked automatically and this site does not publish "
        "unchecked comments."
    ),
    "offensive": "A moderator removed your comment because it is offensive.",
    "abusive": "A moderator removed your comment because it is abusive.",
    "off-topic": "A moderator removed your comment because it is off-topic.",
    "other": "A moderator removed your comment because it breaks this site's rules.",
}
FALLBACK = "Your comment was removed because it breaks this site's rules."


def _ground(reasons: list[dict[str, Any]]) -> str:
    for reason in reasons:
        if reason.get("action") == "reject":
            # A moderator's reason names the ground they chose ("abusive"), not the action.
            return str(reason.get("reason") or reason.get("code") or "other")
    return str(reasons[0].get("code")) if reasons else "other"


def statement_for(
    action: str, decided_by: str, reasons: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The statement of reasons of a decision, or None when it is not a rejection."""
    if action != "reject":
        return None
    code = _ground(reasons)
    text = GROUNDS.get(code) or GROUNDS.get(code.split("_")[0], FALLBACK)
    return Statement(
        code=code,
        text=text,
        decided_by=decided_by,
        automated=decided_by == "auto",
        redress=REDRESS,
    ).wire()
