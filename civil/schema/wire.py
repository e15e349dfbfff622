"""What every wire model shares: RFC 3339 times, the error body, pydantic errors as details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError, WithJsonSchema


def rfc3339(moment: datetime) -> str:
    """An aware time as RFC 3339 with `Z` for UTC (what every answer and callback carries)."""
    return moment.isoformat().replace("+00:00", "Z")


Rfc3339 = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Out(BaseModel):
    """A response shape: built from what the domain computed, dumped as the JSON answer."""

    model_config = ConfigDict(extra="forbid")

    def wire(self) -> dict[str, Any]:
        """The JSON body: explicit nulls stay, fields nobody set are left out."""
        return self.model_dump(mode="json", exclude_unset=True)


class Error(Out):
    """The one error shape of every non-2xx JSON body."""

    error: str
    message: str
    details: dict[str, Any]


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as JSON-safe details: where, what, which kind (never the input echoed)."""
    return [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
