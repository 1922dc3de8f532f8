"""Content-Security-Policy: pages run only retain's own (vendored) scripts.

Every response gets a policy that allows scripts from retain's origin and the few inline
``<script>`` blocks that carry the request's nonce (``{{ request.csp_nonce }}``); no
inline event handlers (``onclick=``), no ``eval``, no other origin, no plugins, no
framing. Styles may be inline (ECharts and htmx set them). The page behaviour that used
inline handlers lives in ``web/static/web/retain.js``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", policy(nonce))
        return response
