"""Site authentication: a Bearer API key that must belong to the site in the path."""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from civil.errors import Forbidden, Unauthorized
from civil.models import Site
from civil.sites import authenticate
from service.context import database
from service.limits import memo


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_site(session: Session, site_id: str) -> Site:
    """The authenticated site; 401 for a bad key, 403 for another site's path."""
    site = authenticate(session, bearer_token())
    if site.id != site_id:
        raise Forbidden("this API key belongs to another site", {"site_id": site_id})
    return site


def site_counter() -> str | None:
    """The rate-limit counter of the path's site when the Bearer key is that site's, else None."""
    site_id = (request.view_args or {}).get("site_id")

    def lookup() -> str | None:
        with database().session() as session:
            try:
                site = authenticate(session, bearer_token())
            except Unauthorized:
                return None
            return f"site:{site.id}" if site.id == site_id else None

    return memo("site_counter", lookup)
