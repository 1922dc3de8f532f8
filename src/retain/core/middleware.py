"""A locked SQLite database answers "busy, try again", never HTTP 500.

SQLite lets one writer at a time; every connection waits its busy timeout (20 s) for the
lock. When that is not enough (a long write elsewhere), a read (GET/HEAD) is tried once
more, and otherwise the user gets 503 with a plain message and ``Retry-After``. Imports keep their write short
(``retain.imports.engine``: rows are staged first, then applied in one short transaction).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

RETRY_PAUSE = 1.0
RETRY_AFTER = 5  # seconds, in the 503 answer


def database_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text or "busy" in text)


class DatabaseBusyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_locked(exception):
            return None
        match = request.resolver_match
        if request.method in ("GET", "HEAD") and match is not None:
            time.sleep(RETRY_PAUSE)
            try:
                response: Any = match.func(request, *match.args, **match.kwargs)
            except OperationalError as again:
                if not database_locked(again):
                    raise
            else:
                if hasattr(response, "render") and callable(response.render):
                    response = response.render()
                return response
        message = _(
            "The database is busy with another change (an import, perhaps); please try "
            "again in a moment."
        )
        accept = request.headers.get("Accept", "")
        if request.path.startswith("/api/") or "application/json" in accept:
            busy: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            busy = HttpResponse(
                f"<!doctype html><title>503</title><p>{message}</p>",
                status=503,
                content_type="text/html; charset=utf-8",
            )
        busy["Retry-After"] = str(RETRY_AFTER)
        return busy
