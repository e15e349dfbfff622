"""Gunicorn's access log without API keys or personal data sent in the query string.

Perspective's `?key=` and Akismet's `?api_key=` carry the site's Civil API key, and Akismet
also takes its comment fields (author, e-mail, text, IP...) as query parameters; gunicorn's
request line (`%(r)s`) and query (`%(q)s`) atoms would otherwise write them verbatim.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

MASKED_PARAMS = (
    "key",
    "api_key",
    "comment_author",
    "comment_author_email",
    "comment_author_url",
    "comment_content",
    "user_ip",
    "user_agent",
    "referrer",
)
_KEY_PARAM = re.compile(r"(?i)((?:^|[?&;])(?:" + "|".join(MASKED_PARAMS) + r")=)[^&;\s]*")
MASK = "[redacted]"


def redact(text: str) -> str:
    """`text` with the value of every key or personal-data query parameter masked."""
    return _KEY_PARAM.sub(lambda match: match.group(1) + MASK, text)


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's Logger with the key parameters masked in the request line and query."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
