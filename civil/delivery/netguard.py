"""Refuse callback URLs that point into the operator's own network (SSRF guard).

Only globally routable addresses pass, judged after unwrapping the IPv6 forms that carry an
IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64). A delivery then connects to the address
that was checked (`pinned_post`), never to a second answer for the name (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

from civil.errors import CallbackRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

# `civil listen`, the local receiver for trying Civil on one machine, listens at exactly this
# URL; it is the one loopback callback allowed without CIVIL_ALLOW_PRIVATE_CALLBACKS (any other
# path, port or address on loopback is still refused). `--callback-url listen` stores it.
LISTENER_HOST, LISTENER_PORT, LISTENER_PATH = "127.0.0.1", 8787, "/civil-listen"
LISTENER_URL = f"http://{LISTENER_HOST}:{LISTENER_PORT}{LISTENER_PATH}"


def _embedded(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (traffic to it reaches them)."""
    out = [v4 for v4 in (addr.ipv4_mapped, addr.sixtofour) if v4 is not None]
    if addr.teredo:
        out.extend(addr.teredo)
    if any(addr in net for net in NAT64):
        out.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return out


def _is_internal(addr: Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded(addr)
        if inner:
            return any(_is_internal(v4) for v4 in inner)
        # Deprecated site-local fec0::/10 still routes inside some networks.
        if addr.is_site_local:
            return True
    # is_global excludes private, loopback, link-local, CGNAT 100.64/10, documentation,
    # benchmarking and reserved ranges; multicast is never a callback target.
    return not addr.is_global or addr.is_multicast


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
                "callback URL resolves to a loopback, private, link-local or otherwise not "
                "globally routable address; set CIVIL_ALLOW_PRIVATE_CALLBACKS=1 to allow it",
                {"url": url, "addresses": internal},
            )
    return addresses


class PinnedAdapter(HTTPAdapter):
    """Connect to one given address; the URL's name stays in Host, TLS SNI and the cert check."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        # Without it http.client would name the address, not the host, in Host.
        netloc = urlsplit(request.url or "").netloc.rpartition("@")[2]
        request.headers.setdefault("Host", netloc)


# Addresses a delivery tries before giving up: each may take the whole connect timeout, and
# the sender's claim on the event lasts the timeout plus 30 seconds.
MAX_ADDRESSES = 2


def pinned_session(address: str) -> requests.Session:
    """A session whose every connection goes to ``address`` (a checked one)."""
    session = requests.Session()
    # A proxy from the environment would resolve the name again itself.
    session.trust_env = False
    adapter = PinnedAdapter(address.split("%")[0])
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def pinned_post(
    addresses: list[str], session_of: Callable[[str], requests.Session] | None = None
) -> Callable[..., requests.Response]:
    """A `requests.post` that connects only to `addresses` (checked ones), trying each in turn.

    The next address is tried only when no connection could be made to one (as a client
    would across a name's A and AAAA answers); any later failure is the caller's.
    ``session_of(address)`` gives a kept-alive pinned session to reuse; without it each post
    opens and closes its own.
    """

    def post(url: str, **kwargs: Any) -> requests.Response:
        failure: requests.exceptions.ConnectionError | None = None
        for address in addresses[:MAX_ADDRESSES]:
            try:
                if session_of is not None:
                    return session_of(address).post(url, **kwargs)
                with pinned_session(address) as session:
                    return session.post(url, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if not _never_connected(exc):
                    raise
                failure = exc
        raise failure or requests.exceptions.ConnectionError("no address to connect to")

    return post


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    # urllib3 wraps a refused or timed-out connect (NewConnectionError is one) in MaxRetryError.
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ConnectTimeoutError)
