"""The duplicate search in batches: new or changed customers against the rest, and the
full scan, both with memory bounded independently of the number of customers.

Every customer searched gets its keys (``match_keys``: phones, emails, and a company's
name core, alone and with its city) stored in ``MatchKey`` (indexed) and a ``MatchState``
row with the ``updated_at`` it had. A customer without a state, or whose ``updated_at``
differs, is new or changed. Searching a batch of at most ``BATCH`` customers:

1. store their keys;
2. look up, through the index, the customers sharing a key with them (``lookup_keys``:
   every pair the model can score at 0.5 or more shares one; with a lower threshold
   some weaker pairs are not looked at); a key shared by more than ``BLOCK_LIMIT``
   customers (a switchboard number, a very common company name without a city) tells
   nothing and is skipped, and at most ``FRAME_LIMIT`` other customers are taken, the
   rarest keys first;
3. score the batch against those with Splink (``find_candidates``), keep the pairs with
   a customer of the batch in them, store them, and mark the batch searched;

all in one transaction, so a search killed midway loses at most the batch it was on and
the next run carries on with the customers still unsearched. The Splink frame therefore
never holds more than ``SCAN_BATCH + FRAME_LIMIT`` customers, whatever the size of the
database. The full scan (``scan``) searches every customer not yet covered by the
current ``DuplicateScan`` the same way, and is resumed by the next run if stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import pandas as pd
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from retain.customers.models import Customer
from retain.dedup.matching import (
    THRESHOLD,
    Candidate,
    customer_frame,
    find_candidates,
    lookup_keys,
    match_keys,
)
from retain.dedup.models import DuplicatePair, DuplicateScan, MatchKey, MatchState, PairStatus

log = logging.getLogger(__name__)

#: Customers searched together after an import (and in the full scan).
BATCH = 500
#: Customers searched together by the full scan (fewer, larger Splink runs).
SCAN_BATCH = 2000
#: A key shared by more customers than this is too common to tell anything.
BLOCK_LIMIT = 1000
#: At most this many other customers are compared with one batch.
FRAME_LIMIT = 20_000


def _chunks(items: list, size: int = 2000) -> Iterable[list]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unsearched(after: int, limit: int, scan: int | None) -> list[int]:
    """Ids above ``after`` not searched since they last changed (or, with ``scan``, not
    yet covered by that full scan)."""
    if scan is None:
        current = MatchState.objects.filter(
            customer=OuterRef("pk"), updated_at=OuterRef("updated_at")
        )
    else:
        current = MatchState.objects.filter(customer=OuterRef("pk"), scan__gte=scan)
    return list(
        Customer.objects.filter(pk__gt=after)
        .exclude(Exists(current))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _neighbours(keys: set[str], batch: set[int]) -> set[int]:
    """Customers outside ``batch`` that share a telling key with it, rarest keys first."""
    sizes: dict[str, int] = {}
    for chunk in _chunks(sorted(keys), 500):
        for row in MatchKey.objects.filter(key__in=chunk).values("key").annotate(n=Count("pk")):
            sizes[row["key"]] = row["n"]
    telling = sorted((n, k) for k, n in sizes.items() if n <= BLOCK_LIMIT)
    members: dict[str, list[int]] = {}
    for chunk in _chunks([k for _n, k in telling], 500):
        for key, cid in MatchKey.objects.filter(key__in=chunk).values_list("key", "customer_id"):
            members.setdefault(key, []).append(cid)
    found: set[int] = set()
    for _n, key in telling:
        others = set(members.get(key, ())) - batch - found
        if len(found) + len(others) > FRAME_LIMIT:
            log.info("duplicate search: frame limit reached, key %s and rarer ones skipped", key)
            break
        found |= others
    return found


def search_batch(
    ids: list[int], *, threshold: float, now: dt.datetime, scan: int | None = None
) -> set[tuple[int, int]]:
    """Search the customers ``ids`` against all others (see the module's text); returns
    the open pairs stored."""
    batch = set(ids)
    with transaction.atomic():
        stamps = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
        frame = customer_frame(stamps)
        records = frame.to_dict("records")
        MatchKey.objects.filter(customer_id__in=list(stamps)).delete()
        MatchKey.objects.bulk_create(
            [MatchKey(customer_id=r["unique_id"], key=k) for r in records for k in match_keys(r)],
            batch_size=2000,
        )
        others = _neighbours(set().union(*(lookup_keys(r) for r in records)), batch)
        if others:
            frame = pd.concat([frame, customer_frame(others)], ignore_index=True)
        candidates: list[Candidate] = find_candidates(frame, threshold=threshold, new_ids=batch)
        involving = Q(left_id__in=list(stamps)) | Q(right_id__in=list(stamps))
        decided = set(
            DuplicatePair.objects.filter(involving)
            .exclude(status=PairStatus.OPEN)
            .values_list("left_id", "right_id")
        )
        DuplicatePair.objects.filter(involving, status=PairStatus.OPEN).delete()
        rows = [
            DuplicatePair(
                left_id=c.left_id,
                right_id=c.right_id,
                score=c.score,
                evidence=[list(item) for item in c.evidence],
                found_at=now,
            )
            for c in candidates
            if (c.left_id, c.right_id) not in decided
        ]
        DuplicatePair.objects.bulk_create(rows, ignore_conflicts=True)
        previous = dict(
            MatchState.objects.filter(customer_id__in=list(stamps)).values_list(
                "customer_id", "scan"
            )
        )
        MatchState.objects.filter(customer_id__in=list(stamps)).delete()
        MatchState.objects.bulk_create(
            [
                MatchState(
                    customer_id=cid,
                    updated_at=updated,
                    scan=scan if scan is not None else previous.get(cid, 0),
                )
                for cid, updated in stamps.items()
            ]
        )
    return {(r.left_id, r.right_id) for r in rows}


def search_changed(
    *, threshold: float = THRESHOLD, now: dt.datetime | None = None, batch: int = BATCH
) -> int:
    """Search the customers that are new or changed since they were last searched (after
    an import, and nightly). Returns the number of open pairs stored."""
    now = now or timezone.now()
    stored: set[tuple[int, int]] = set()
    after = 0
    while ids := _unsearched(after, batch, None):
        stored |= search_batch(ids, threshold=threshold, now=now)
        after = ids[-1]
    return len(stored)


def search_ids(
    ids: Iterable[int], *, threshold: float = THRESHOLD, now: dt.datetime | None = None
) -> int:
    """Search the given customers against all others."""
    now = now or timezone.now()
    wanted = sorted(set(ids))
    stored: set[tuple[int, int]] = set()
    for chunk in _chunks(wanted, BATCH):
        stored |= search_batch(chunk, threshold=threshold, now=now)
    return len(stored)


def scan(
    *, threshold: float = THRESHOLD, now: dt.datetime | None = None, batch: int = SCAN_BATCH
) -> int:
    """The full scan: every customer against all others, in batches. An unfinished scan
    (stopped or killed) is resumed; otherwise a new one starts. Returns the number of
    open pairs after the scan."""
    now = now or timezone.now()
    current = DuplicateScan.objects.filter(finished_at__isnull=True).order_by("-id").first()
    if current is None:
        current = DuplicateScan.objects.create(started_at=now)
    after = 0
    while ids := _unsearched(after, batch, current.pk):
        search_batch(ids, threshold=threshold, now=now, scan=current.pk)
        DuplicateScan.objects.filter(pk=current.pk).update(searched=current.searched + len(ids))
        current.searched += len(ids)
        after = ids[-1]
    DuplicateScan.objects.filter(pk=current.pk).update(finished_at=timezone.now())
    return DuplicatePair.objects.filter(status=PairStatus.OPEN).count()


def index_build(*, batch: int = 5000) -> int:
    """Store the blocking keys of every customer not yet indexed and mark them searched,
    without searching: for a large database being upgraded, so that the searches after
    imports have something to compare with before the first full scan has run. Returns
    the number of customers indexed."""
    done = 0
    after = 0
    while ids := _unsearched(after, batch, None):
        with transaction.atomic():
            stamps = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
            frame = customer_frame(stamps, pinyin=False)
            MatchKey.objects.filter(customer_id__in=ids).delete()
            MatchKey.objects.bulk_create(
                [
                    MatchKey(customer_id=int(r["unique_id"]), key=key)
                    for r in frame.to_dict("records")
                    for key in match_keys(r)
                ],
                batch_size=5000,
            )
            MatchState.objects.filter(customer_id__in=ids).delete()
            MatchState.objects.bulk_create(
                [MatchState(customer_id=cid, updated_at=u) for cid, u in stamps.items()],
                batch_size=5000,
            )
        done += len(ids)
        after = ids[-1]
    return done
