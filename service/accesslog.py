"""Gunicorn's access log without API keys: Perspective's `?key=` and Akismet's `?api_key=`.

Those clients send the site's Civil API key in the query string, which gunicorn's request
line (`%(r)s`) and query (`%(q)s`) atoms would otherwise write to the log verbatim.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

_KEY_PARAM = re.compile(r"(?i)((?:^|[?&;])(?:key|api_key)=)[^&;\s]*")
MASK = "[redacted]"


def redact(text: str) -> str:
    """`text` with the value of every `key=` / `api_key=` query parameter masked."""
    return _KEY_PARAM.sub(lambda match: match.group(1) + MASK, text)


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's Logger with the key parameters masked in the request line and query."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
