"""The app's cache: the board's figures change once a scoring run, and with the writes they read.

The board's heavy reads (the KPIs of a user's own customers, computed by the engine; the
headline figures; the customers per quadrant) are kept in Django's cache (files in
RETAIN_HOME, or Redis when RETAIN_REDIS_URL is set, so every worker process shares them),
keyed by the scoring run, the scope (the company, or one user's customers) and a
*generation* of their topic (``TOPICS``; the segment explorer's figures and a plan's segment
counts and the board's survey figures are the others). Every
audited write to the data those figures read (customers, orders,
complaints, survey answers, users and teams, scores, KPIs, imports, merges: ``BOARD_APPS``)
sets a new generation once its transaction commits, so the next request computes the figures
again. The audit trail is the one place every write passes (every write goes through an
audited service), which is why the invalidation hooks there. Follow-ups, tasks, tags, care
and campaigns are not read by the board's figures and leave them cached (a follow-up does
invalidate a plan's counts, which show who was contacted this month).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

#: Apps whose rows the board's figures read; an audited write to one of them invalidates.
BOARD_APPS = frozenset(
    {
        "accounts",  # users and teams: who sees which customers
        "complaints",
        "customers",
        "dedup",  # merges move orders and complaints
        "imports",
        "kpis",
        "orders",
        "scoring",
        "surveys",
    }
)
#: What each cached topic reads: the board, and the segment explorer's figures and choices
#: (whose conditions also read tags and campaigns).
TOPICS: dict[str, frozenset[str]] = {
    "board": BOARD_APPS,
    "segments": BOARD_APPS | {"tags", "campaigns"},
    # a plan's results page: its segment's members, and which of them had a follow-up
    "plans": BOARD_APPS | {"tags", "campaigns", "interactions"},
    # the board's survey figures, by lifecycle stage, month and saved segment
    "surveys": BOARD_APPS | {"tags", "campaigns", "playbooks"},
}
#: An entry outlives no scoring run (the run is in the key); a day bounds a stale file.
TIMEOUT_SECONDS = 24 * 3600
#: How long a request waits for another process (or thread) computing the same entry before
#: it computes the entry itself (the other may have died).
WAIT_SECONDS = 30.0


def _generation_key(topic: str) -> str:
    return f"{topic}:generation"


def generation(topic: str) -> str:
    """The current generation of ``topic``'s cached figures (set on first use)."""
    key = _generation_key(topic)
    value = cache.get(key)
    if value is None:
        value = uuid.uuid4().hex
        # add: when two processes start at once, both use the one that was stored first
        if not cache.add(key, value, timeout=None):
            value = cache.get(key) or value
    return str(value)


def invalidate(*topics: str) -> None:
    """Make every cached figure of ``topics`` (default: all) stale: a new generation (no
    read-modify-write, so concurrent writers cannot lose an invalidation)."""
    for topic in topics or tuple(TOPICS):
        cache.set(_generation_key(topic), uuid.uuid4().hex, timeout=None)


def invalidate_on_commit(*topics: str) -> None:
    """Invalidate now and again once the current transaction commits.

    Now: the rest of the transaction (and a test, whose transaction never commits) reads
    fresh figures. On commit: a request that cached figures between the two, without the
    write, is dropped, and one that computes after the commit sees it. A rolled-back write
    costs one needless recomputation."""
    invalidate(*topics)
    transaction.on_commit(lambda: invalidate(*topics))


def topics_read(object_type: str) -> tuple[str, ...]:
    """The cached topics a write to ``object_type`` (``app_label.model``) changes."""
    app = object_type.split(".", 1)[0]
    return tuple(topic for topic, apps in TOPICS.items() if app in apps)


def is_cached(topic: str, key: str) -> bool:
    """Whether ``key`` of ``topic``'s current generation is in the cache."""
    return cache.get(f"{topic}:{generation(topic)}:{key}") is not None


def cached(topic: str, key: str, compute: Callable[[], T], timeout: int = TIMEOUT_SECONDS) -> T:
    """``compute()`` from the cache under ``key`` in ``topic``'s current generation, else
    computed and stored. ``key`` names everything else the value depends on (run, scope)."""
    full_key = f"{topic}:{generation(topic)}:{key}"
    value = cache.get(full_key)
    if value is not None:
        return value  # type: ignore[no-any-return]
    # One computation per entry: when many requests miss at once (a new generation under
    # load), the first computes and the others wait for its result instead of each
    # computing it again on the same cores.
    lock = f"{full_key}:computing"
    if not cache.add(lock, 1, timeout=int(WAIT_SECONDS)):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
            value = cache.get(full_key)
            if value is not None:
                return value  # type: ignore[no-any-return]
    try:
        value = compute()
        cache.set(full_key, value, timeout=timeout)
    finally:
        cache.delete(lock)
    return value


__all__ = [
    "BOARD_APPS",
    "TOPICS",
    "cached",
    "generation",
    "invalidate",
    "invalidate_on_commit",
    "is_cached",
    "topics_read",
]
