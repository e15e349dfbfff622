"""Report windows: an RFC 3339 time or a span back from now (90m, 24h, 7d)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from civil.errors import InvalidInput

_SPAN = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_moment(value: str, now: datetime | None = None) -> datetime:
    """``24h`` is 24 hours ago; anything else must be an ISO time with a timezone."""
    match = _SPAN.match(value.strip())
    if match:
        amount, unit = match.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            "expected a span (90m, 24h, 7d) or a time with a timezone", {"value": value}
        )
    return moment.astimezone(UTC)
