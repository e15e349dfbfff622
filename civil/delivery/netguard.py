"""Refuse callback URLs that point into the operator's own network (SSRF guard)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from civil.errors import CallbackRefused

# `civil listen`, the local receiver for trying Civil on one machine, listens at exactly this
# URL; it is the one loopback callback allowed without CIVIL_ALLOW_PRIVATE_CALLBACKS (any other
# path, port or address on loopback is still refused). `--callback-url listen` stores it.
LISTENER_HOST, LISTENER_PORT, LISTENER_PATH = "127.0.0.1", 8787, "/civil-listen"
LISTENER_URL = f"http://{LISTENER_HOST}:{LISTENER_PORT}{LISTENER_PATH}"


def _is_internal(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
    )


def check_callback_url(url: str, *, allow_private: bool) -> list[str]:
    """Validate a callback URL and return the addresses it resolves to.

    Called when a site is saved and again before every delivery, because DNS can change
    between the two (rebinding); a URL that now resolves inside is refused at send time.
    """
    if url == LISTENER_URL:
        return [LISTENER_HOST]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CallbackRefused("callback URL must be an absolute http(s) URL", {"url": url})
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackRefused(
            "callback host does not resolve", {"url": url, "host": parts.hostname}
        ) from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        internal = [a for a in addresses if _is_internal(ipaddress.ip_address(a.split("%")[0]))]
        if internal:
            raise CallbackRefused(
                "callback URL resolves to a loopback, private or link-local address; "
                "set CIVIL_ALLOW_PRIVATE_CALLBACKS=1 to allow it",
                {"url": url, "addresses": internal},
            )
    return addresses
