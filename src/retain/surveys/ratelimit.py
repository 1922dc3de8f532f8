"""The public survey page's rate limit: requests per client address per minute, counted in
Django's cache as the project configures it (``retain.settings.CACHES``: files in
RETAIN_HOME, or Redis with RETAIN_REDIS_URL), so every server process — each gunicorn worker,
each machine on one Redis — counts into the same window, never a per-process dict.

The count is a fixed one-minute window: ``add`` makes the window's key, ``incr`` counts. On
Redis ``incr`` is atomic; on the file cache it is a read and a write, so two requests in the
very same instant may count once (the limit errs on letting a request through, never on
refusing one too many)."""

from __future__ import annotations

import time
from typing import Any

#: The window of the count, in seconds; the key lives a little longer than its window.
WINDOW_SECONDS = 60


def survey_rate_limited(
    address: str, *, limit: int, store: Any = None, now: float | None = None
) -> bool:
    """Whether this request from ``address`` is over ``limit`` requests in the current
    minute (``limit`` 0: never). ``store`` is a Django cache (default: the project's)."""
    if limit <= 0:
        return False
    if store is None:
        from django.core.cache import cache as store
    window = int((time.time() if now is None else now) // WINDOW_SECONDS)
    key = f"survey-rate:{address}:{window}"
    store.add(key, 0, timeout=WINDOW_SECONDS + 30)
    try:
        return bool(store.incr(key) > limit)
    except ValueError:  # the key expired between add and incr: count this one afresh
        store.add(key, 1, timeout=WINDOW_SECONDS + 30)
        return False
