"""Forwarded headers, trusted only from RETAIN_TRUSTED_PROXIES.

Behind a TLS proxy, the proxy tells retain the scheme (``X-Forwarded-Proto``) and the
client's address (``X-Forwarded-For``). Anyone can send those headers, so they are believed
only from a proxy listed in ``RETAIN_TRUSTED_PROXIES`` (addresses or networks); from anyone
else they are removed before Django looks at them. From a trusted proxy, ``REMOTE_ADDR``
becomes the client's address — the right-most address of ``X-Forwarded-For`` that is not
itself a trusted proxy — so the audit trail, the login limits and the search limits see the
client, not the proxy; and ``X-Forwarded-Proto: https`` makes the request secure
(``SECURE_PROXY_SSL_HEADER``), so ``RETAIN_HTTPS=1`` does not redirect it again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FORWARDED = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse RETAIN_TRUSTED_PROXIES entries; ValueError names the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(
                f"RETAIN_TRUSTED_PROXIES: {value!r} is not an IP address or network"
            ) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return proxy_networks(values)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(meta: dict[str, Any], networks: tuple[Network, ...]) -> str | None:
    """The client's address: REMOTE_ADDR, or from a trusted proxy the right-most address
    of X-Forwarded-For that is not a trusted proxy itself."""
    remote = meta.get("REMOTE_ADDR") or None
    if remote is None or not _trusted(remote, networks):
        return remote
    chain = [a.strip() for a in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, networks):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # garbage from the client: keep the proxy's address
    return chain[0] if chain else remote


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: believe forwarded headers only from trusted proxies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        networks = _networks(tuple(getattr(settings, "RETAIN_TRUSTED_PROXIES", ())))
        meta = request.META
        remote = meta.get("REMOTE_ADDR") or ""
        if networks and _trusted(remote, networks):
            meta["REMOTE_ADDR"] = client_address(meta, networks) or remote
            meta["RETAIN_PROXY_ADDR"] = remote
        else:
            for name in FORWARDED:
                meta.pop(name, None)
        return self.get_response(request)
