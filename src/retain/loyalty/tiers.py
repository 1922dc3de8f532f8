"""Membership tiers, evaluated by the nightly run.

A customer's tier follows their rolling 12-month figure (spend on paid orders, or points
earned: never the spendable balance). An upgrade happens on the day the figure reaches the
next threshold; a figure below the current tier's threshold starts a grace period
(``LoyaltySettings.tier_grace_days``), and the customer moves down only if it is still below
when the grace ends. Every move is kept (:class:`TierChange`), audited, and the customer's
owner is notified.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.audit.services import audit_events_bulk
from retain.loyalty.ledger import accounts_ensure, loyalty_settings
from retain.loyalty.models import (
    EntryKind,
    LoyaltyAccount,
    PointsEntry,
    Tier,
    TierBasis,
    TierChange,
)
from retain.orders.models import Order, OrderStatus

WINDOW_DAYS = 365


def tier_figures(*, as_of: dt.date, basis: str) -> dict[int, Decimal]:
    """Customer id -> the 12-month figure ending on ``as_of`` (spend or points earned)."""
    start = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    rows: Any
    if basis == TierBasis.POINTS:
        rows = (
            PointsEntry.objects.filter(
                kind__in=[EntryKind.EARN, EntryKind.BONUS, EntryKind.REFERRAL],
                on__gte=start,
                on__lte=as_of,
            )
            .values("customer_id")
            .annotate(s=Sum("points"))
        )
    else:
        lo = timezone.make_aware(dt.datetime.combine(start, dt.time()))
        hi = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
        rows = (
            Order.objects.filter(status=OrderStatus.PAID, ordered_at__gte=lo, ordered_at__lt=hi)
            .values("customer_id")
            .annotate(s=Sum("amount"))
        )
    return {r["customer_id"]: Decimal(r["s"] or 0) for r in rows}


def tier_for(figure: Decimal, tiers: list[Tier]) -> Tier:
    """The highest tier whose threshold ``figure`` reaches (tiers sorted by rank)."""
    reached = tiers[0]
    for tier in tiers:
        if figure >= tier.threshold:
            reached = tier
    return reached


@dataclass
class TierResult:
    evaluated: int = 0
    joined: int = 0
    upgraded: int = 0
    downgraded: int = 0
    in_grace: int = 0


@transaction.atomic
def tiers_evaluate(*, as_of: dt.date, now: dt.datetime | None = None) -> TierResult:
    """Move every member to the tier of their 12-month figure, with the grace before a
    downgrade. Customers with a paid order in the window become members. Set-based: a few
    queries whatever the number of customers."""
    from retain.tasks.services import notification_send

    now = now or timezone.now()
    conf = loyalty_settings()
    tiers = list(Tier.objects.order_by("rank"))
    out = TierResult()
    if not tiers:
        return out
    by_pk = {t.pk: t for t in tiers}
    figures = tier_figures(as_of=as_of, basis=conf.tier_basis)
    accounts_ensure(figures.keys())
    grace = dt.timedelta(days=conf.tier_grace_days)
    moved: dict[int, list[int]] = defaultdict(list)  # new tier id -> account ids
    grace_started: list[int] = []
    grace_ended: list[int] = []
    moves: list[TierChange] = []
    for account in LoyaltyAccount.objects.select_for_update():
        out.evaluated += 1
        figure = figures.get(account.customer_id, Decimal(0))
        target = tier_for(figure, tiers)
        current = by_pk.get(account.tier_id) if account.tier_id else None
        move = False
        if current is None:
            out.joined += 1
            move = True
        elif target.rank > current.rank:
            out.upgraded += 1
            move = True
        elif target.rank == current.rank:
            if account.below_since is not None:
                grace_ended.append(account.pk)
        elif account.below_since is None:
            out.in_grace += 1
            grace_started.append(account.pk)
        elif as_of >= account.below_since + grace:
            out.downgraded += 1
            move = True
        else:
            out.in_grace += 1
        if move:
            moves.append(
                TierChange(
                    customer_id=account.customer_id,
                    from_tier=current,
                    to_tier=target,
                    on=as_of,
                    basis=figure,
                )
            )
            moved[target.pk].append(account.pk)
    # one UPDATE per kind of change: bulk_update's CASE over thousands of rows is slow
    for tier_id, ids in moved.items():
        _accounts_update(ids, tier_id=tier_id, tier_since=as_of, below_since=None)
    _accounts_update(grace_started, below_since=as_of)
    _accounts_update(grace_ended, below_since=None)
    created = TierChange.objects.bulk_create(moves, batch_size=1000)
    if any(m.pk is None for m in created):
        created = list(TierChange.objects.filter(on=as_of))
    audit_events_bulk(actor=None, action="create", objs=created)
    _notify(created, tiers=by_pk, as_of=as_of, now=now, notify=notification_send)
    return out


def _accounts_update(ids: list[int], **values: Any) -> None:
    for start in range(0, len(ids), 1000):
        LoyaltyAccount.objects.filter(pk__in=ids[start : start + 1000]).update(**values)


def _notify(moves, *, tiers, as_of, now, notify) -> None:  # type: ignore[no-untyped-def]
    """The owner of each customer who moved up or down hears of it (not of first tiers)."""
    by_owner: dict[int, list[TierChange]] = defaultdict(list)
    owners = {}
    moved = [m for m in moves if m.from_tier_id is not None]
    if not moved:
        return
    customers = {
        a.customer_id: a.customer
        for a in LoyaltyAccount.objects.filter(
            customer_id__in=[m.customer_id for m in moved], customer__owner__isnull=False
        ).select_related("customer__owner")
    }
    for move in moved:
        customer = customers.get(move.customer_id)
        if customer is None or customer.owner_id is None:
            continue
        owners[customer.owner_id] = customer.owner
        by_owner[customer.owner_id].append(move)
    for owner_id, owner_moves in by_owner.items():
        for move in owner_moves:
            customer = customers[move.customer_id]
            text = _("%(customer)s moved from %(old)s to %(new)s") % {
                "customer": customer.name,
                "old": tiers[move.from_tier_id],
                "new": tiers[move.to_tier_id],
            }
            notify(
                users=[owners[owner_id]],
                text=text,
                url=reverse("customer-detail", args=[customer.code]),
                now=now,
            )
