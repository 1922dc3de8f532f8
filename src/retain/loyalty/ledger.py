"""The points ledger: earn, redeem, expire (first in, first out), adjust, reverse.

Invariants (tests/loyalty/test_ledger.py):

- a customer's balance is the sum of their entries, and no entry is ever changed or removed;
- the balance never goes below zero: every debit is written while the customer's
  :class:`LoyaltyAccount` row is locked (``select_for_update``), after the expiry due that day
  and a check that the balance covers it, so two redemptions at once cannot spend the same
  points;
- points expire first in, first out: a lot earned on day D with an expiry of N months is
  spendable up to the day before D + N months and expires on D + N months (a lot earned on
  31 January with one month expires on 28 February);
- a refund reverses the points the order earned (a return, its share of them), and gives
  back points redeemed on the order.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.access import points_may_adjust, points_may_redeem
from retain.audit.services import audit_event, audit_events_bulk, snapshot
from retain.customers.models import Customer
from retain.loyalty.models import (
    CREDIT_KINDS,
    CampaignRule,
    CategoryRule,
    EntryKind,
    LoyaltyAccount,
    LoyaltySettings,
    PointsEntry,
    RuleMode,
    Tier,
)
from retain.orders.models import Order, OrderStatus, Return

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def loyalty_settings() -> LoyaltySettings:
    """The programme's settings (the defaults until someone edits them)."""
    found, _created = LoyaltySettings.objects.get_or_create(pk=1)
    return found


def expiry_date(earned_on: dt.date, months: int) -> dt.date | None:
    """The day a lot earned on ``earned_on`` expires (no longer spendable), or None."""
    if months <= 0:
        return None
    return earned_on + relativedelta(months=months)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def account_ensure(customer: Customer) -> LoyaltyAccount:
    """The customer's loyalty account, made on first use (with a referral code)."""
    found = LoyaltyAccount.objects.filter(customer=customer).first()
    if found is not None:
        return found
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return LoyaltyAccount.objects.create(customer=customer, referral_code=_new_code())
        except IntegrityError:
            found = LoyaltyAccount.objects.filter(customer=customer).first()
            if found is not None:
                return found  # made by a concurrent writer
    raise IntegrityError("no free referral code")


def accounts_ensure(customer_ids: Iterable[int]) -> int:
    """Make the missing accounts of many customers at once; returns how many were made."""
    ids = set(customer_ids)
    have = set(
        LoyaltyAccount.objects.filter(customer_id__in=ids).values_list("customer_id", flat=True)
    )
    missing = sorted(ids - have)
    LoyaltyAccount.objects.bulk_create(
        [LoyaltyAccount(customer_id=pk, referral_code=_new_code()) for pk in missing],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return len(missing)


def _lock(customer: Customer) -> LoyaltyAccount:
    """Lock the customer's account row until the end of the transaction."""
    found = LoyaltyAccount.objects.select_for_update().filter(customer=customer).first()
    if found is not None:
        return found
    account_ensure(customer)
    return LoyaltyAccount.objects.select_for_update().get(customer=customer)


def points_balance(customer: Customer | int) -> int:
    """The sum of the customer's ledger."""
    pk = customer if isinstance(customer, int) else customer.pk
    total = PointsEntry.objects.filter(customer_id=pk).aggregate(s=Sum("points"))["s"]
    return int(total or 0)


def _due_to_expire(customer_id: int, on: dt.date) -> int:
    """Points of lots expiring by ``on`` that were not spent (FIFO), nor already expired.

    Debits (redemptions, expiries, negative adjustments) consume lots in the order they
    expire; reversals shrink their own lot. So the unspent points of the lots expired by ``on``
    are what those lots hold minus every debit so far, when that is positive.
    """
    sums = PointsEntry.objects.filter(customer_id=customer_id).aggregate(**_expiry_sums(on))
    return max(0, int(sums["lots_due"] or 0) + int(sums["debits"] or 0))


def _expiry_sums(on: dt.date) -> dict[str, Sum]:
    """The two sums of ``_due_to_expire``: the lots due by ``on`` (with their reversals), and
    every debit so far."""
    credits = Q(kind__in=CREDIT_KINDS) | Q(kind=EntryKind.ADJUST, points__gt=0)
    debits = Q(kind__in=[EntryKind.REDEEM, EntryKind.EXPIRE]) | Q(
        kind=EntryKind.ADJUST, points__lt=0
    )
    return {
        "lots_due": Sum(
            "points", filter=(credits | Q(kind=EntryKind.REVERSE)) & Q(expires_on__lte=on)
        ),
        "debits": Sum("points", filter=debits),
    }


def _expire(account: LoyaltyAccount, on: dt.date) -> PointsEntry | None:
    """Write the expiry due ``on`` for a locked account (at most one entry per day)."""
    due = _due_to_expire(account.customer_id, on)
    if due <= 0:
        return None
    entry = PointsEntry.objects.create(
        customer_id=account.customer_id,
        kind=EntryKind.EXPIRE,
        points=-due,
        on=on,
        reason=_("points older than the expiry period"),
    )
    audit_event(actor=None, action="create", obj=entry, after=snapshot(entry))
    return entry


@transaction.atomic
def points_expire(*, customer: Customer, on: dt.date) -> int:
    """Expire the customer's lots due by ``on``; returns the points expired."""
    entry = _expire(_lock(customer), on)
    return 0 if entry is None else -entry.points


def points_expire_all(*, on: dt.date) -> int:
    """The nightly expiry: every customer with unspent points in lots due by ``on`` (found in
    one query, so that customers whose old lots are spent or expired already are not locked
    again every night); returns points expired."""
    rows: Any = (  # (the annotations' names are not known to the type checker)
        PointsEntry.objects.filter(
            customer_id__in=PointsEntry.objects.filter(expires_on__lte=on).values("customer_id")
        )
        .values("customer_id")
        .annotate(**_expiry_sums(on))
    )
    ids = [r["customer_id"] for r in rows if int(r["lots_due"] or 0) + int(r["debits"] or 0) > 0]
    total = 0
    for customer in Customer.objects.filter(pk__in=ids).order_by("pk").only("pk"):
        total += points_expire(customer=customer, on=on)
    return total


def _credit(
    *,
    customer: Customer,
    kind: EntryKind,
    points: int,
    on: dt.date,
    reason: str = "",
    key: str | None = None,
    order: Order | None = None,
    actor: Any = None,
    request: Any = None,
) -> PointsEntry | None:
    """Add a lot; None when ``key`` was already written (each reward is given once)."""
    if points <= 0:
        raise ValidationError({"points": _("Points must be more than zero.")})
    if key is not None and PointsEntry.objects.filter(key=key).exists():
        return None
    account_ensure(customer)
    entry = PointsEntry(
        customer=customer,
        kind=kind,
        points=points,
        on=on,
        expires_on=expiry_date(on, loyalty_settings().expiry_months),
        reason=reason,
        key=key,
        order=order,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    entry.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        if key is not None and PointsEntry.objects.filter(key=key).exists():
            return None  # a concurrent writer gave it
        raise
    audit_event(actor=actor, action="create", obj=entry, after=snapshot(entry), request=request)
    return entry


@transaction.atomic
def points_bonus(
    *,
    customer: Customer,
    kind: EntryKind = EntryKind.BONUS,
    points: int,
    on: dt.date,
    reason: str,
    key: str | None = None,
    actor: Any = None,
) -> PointsEntry | None:
    """A bonus (birthday, survey answered, referral): given once per ``key``."""
    return _credit(
        customer=customer, kind=kind, points=points, on=on, reason=reason, key=key, actor=actor
    )


def _tier_multipliers(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    return {
        cid: mult
        for cid, mult in LoyaltyAccount.objects.filter(
            customer_id__in=list(customer_ids), tier__isnull=False
        ).values_list("customer_id", "tier__multiplier")
    }


@dataclass(frozen=True)
class CampaignBoost:
    """A campaign rule as it applies to one customer: from the day they joined, while the
    campaign runs."""

    starts_on: dt.date
    ends_on: dt.date | None
    mode: str
    multiplier: Decimal
    points: int


def order_points(
    order: Order,
    *,
    per_yuan: Decimal,
    tier_multiplier: Decimal,
    category_multipliers: dict[int, Decimal],
    category_points: dict[int, int] | None = None,
    campaigns: Sequence[CampaignBoost] = (),
) -> int:
    """Points an order earns.

    Each line earns its amount x per-yuan rate x its category's multiplier, or its
    category's fixed points (an order without lines: its amount x per-yuan rate). The sum is
    multiplied by the tier's multiplier and by the best multiplier of the campaigns the
    customer takes part in that run on the order's day, rounded down; then the fixed points of
    those campaigns are added."""
    fixed = category_points or {}
    lines = list(order.lines.all())
    if lines:
        base = Decimal(0)
        for line in lines:
            category = line.category_id or 0
            if category in fixed:
                base += fixed[category]
            else:
                base += line.amount * category_multipliers.get(category, Decimal(1)) * per_yuan
    else:
        base = order.amount * per_yuan
    day = timezone.localdate(order.ordered_at)
    running = [
        c for c in campaigns if c.starts_on <= day and (c.ends_on is None or day <= c.ends_on)
    ]
    boost = max(
        (c.multiplier for c in running if c.mode == RuleMode.MULTIPLIER), default=Decimal(1)
    )
    points = (base * tier_multiplier * boost).quantize(Decimal(1), rounding=ROUND_FLOOR)
    extra = sum(c.points for c in running if c.mode == RuleMode.FIXED)
    return max(0, int(points) + extra)


def _campaign_boosts(customer_ids: Iterable[int]) -> dict[int, list[CampaignBoost]]:
    """The campaign rules of the campaigns each customer joined, from the day they joined."""
    from retain.campaigns.models import CampaignParticipation

    rules = {r.campaign_id: r for r in CampaignRule.objects.select_related("campaign").all()}
    out: dict[int, list[CampaignBoost]] = {}
    if not rules:
        return out
    for cid, campaign_id, joined in CampaignParticipation.objects.filter(
        customer_id__in=list(customer_ids), campaign_id__in=list(rules)
    ).values_list("customer_id", "campaign_id", "joined_at"):
        rule = rules[campaign_id]
        out.setdefault(cid, []).append(
            CampaignBoost(
                starts_on=max(rule.campaign.starts_on, timezone.localdate(joined)),
                ends_on=rule.campaign.ends_on,
                mode=rule.mode,
                multiplier=rule.multiplier,
                points=rule.points,
            )
        )
    return out


@dataclass
class EarnResult:
    orders: int = 0
    points: int = 0


@transaction.atomic
def points_earn_orders(*, orders: Sequence[Order] | None = None, up_to: dt.date) -> EarnResult:
    """Points for paid orders that have earned none yet (all of them, or ``orders``), in bulk.

    Each order earns once (its entry's key is ``order:<id>``). Credits never lower a
    balance, so they need no lock.
    """
    conf = loyalty_settings()
    qs = Order.objects.filter(status=OrderStatus.PAID).exclude(points_entries__kind=EntryKind.EARN)
    if orders is not None:
        qs = qs.filter(pk__in=[o.pk for o in orders])
    end = timezone.make_aware(dt.datetime.combine(up_to + dt.timedelta(days=1), dt.time()))
    qs = qs.filter(ordered_at__lt=end).prefetch_related("lines")
    categories = _category_rules()
    out = EarnResult()
    batch: list[Order] = []
    for order in qs.iterator(chunk_size=2000):
        batch.append(order)
        if len(batch) == 2000:
            _earn_batch(batch, conf, categories, out)
            batch = []
    if batch:
        _earn_batch(batch, conf, categories, out)
    return out


def _category_rules() -> tuple[dict[int, Decimal], dict[int, int]]:
    """(category id -> multiplier, category id -> fixed points per line)."""
    multipliers: dict[int, Decimal] = {}
    fixed: dict[int, int] = {}
    for rule in CategoryRule.objects.all():
        if rule.mode == RuleMode.FIXED:
            fixed[rule.category_id] = rule.points
        else:
            multipliers[rule.category_id] = rule.multiplier
    return multipliers, fixed


def _earn_batch(
    orders: list[Order],
    conf: LoyaltySettings,
    categories: tuple[dict[int, Decimal], dict[int, int]],
    out: EarnResult,
) -> None:
    tiers = _tier_multipliers({o.customer_id for o in orders})
    boosts = _campaign_boosts({o.customer_id for o in orders})
    accounts_ensure({o.customer_id for o in orders})
    entries = []
    for order in orders:
        points = order_points(
            order,
            per_yuan=conf.points_per_yuan,
            tier_multiplier=tiers.get(order.customer_id, Decimal(1)),
            category_multipliers=categories[0],
            category_points=categories[1],
            campaigns=boosts.get(order.customer_id, ()),
        )
        if points <= 0:
            continue
        on = timezone.localdate(order.ordered_at)
        entries.append(
            PointsEntry(
                customer_id=order.customer_id,
                kind=EntryKind.EARN,
                points=points,
                on=on,
                expires_on=expiry_date(on, conf.expiry_months),
                order=order,
                key=f"order:{order.pk}",
                reason=order.number,
            )
        )
    created = PointsEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
    if any(e.pk is None for e in created):  # backends that return no ids with ignore_conflicts
        keys = [e.key for e in entries]
        created = list(PointsEntry.objects.filter(key__in=keys, created_at__isnull=False))
    audit_events_bulk(actor=None, action="create", objs=created)
    out.orders += len(entries)
    out.points += sum(e.points for e in entries)


def _debit(
    *,
    account: LoyaltyAccount,
    kind: EntryKind,
    points: int,
    on: dt.date,
    reason: str = "",
    order: Order | None = None,
    lot: PointsEntry | None = None,
    key: str | None = None,
    actor: Any = None,
    request: Any = None,
) -> PointsEntry:
    """Take ``points`` (> 0) from a locked account, after its expiry due ``on``."""
    if points <= 0:
        raise ValidationError({"points": _("Points must be more than zero.")})
    _expire(account, on)
    balance = points_balance(account.customer_id)
    if points > balance:
        raise ValidationError(
            {"points": _("Only %(balance)s points are available.") % {"balance": balance}}
        )
    entry = PointsEntry(
        customer_id=account.customer_id,
        kind=kind,
        points=-points,
        on=on,
        reason=reason,
        order=order,
        lot=lot,
        expires_on=lot.expires_on if lot is not None else None,
        key=key,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    entry.full_clean(validate_unique=False)
    entry.save()
    audit_event(actor=actor, action="create", obj=entry, after=snapshot(entry), request=request)
    return entry


@transaction.atomic
def points_redeem(
    *,
    customer: Customer,
    points: int,
    on: dt.date,
    order: Order | None = None,
    reward: str = "",
    actor: Any = None,
    request: Any = None,
) -> PointsEntry:
    """Spend points against an order or for a reward; refused beyond the balance."""
    if actor is not None and not points_may_redeem(actor, customer):
        raise PermissionDenied("loyalty.redeem")
    if order is not None and order.customer_id != customer.pk:
        raise ValidationError({"order": _("The order is another customer's.")})
    if order is None and not reward.strip():
        raise ValidationError({"reward": _("Name the order or the reward.")})
    account = _lock(customer)
    return _debit(
        account=account,
        kind=EntryKind.REDEEM,
        points=points,
        on=on,
        reason=reward.strip() or order.number if order is not None else reward.strip(),
        order=order,
        actor=actor,
        request=request,
    )


@transaction.atomic
def points_adjust(
    *,
    customer: Customer,
    points: int,
    reason: str,
    on: dt.date,
    actor: Any = None,
    request: Any = None,
    key: str | None = None,
) -> PointsEntry | None:
    """Add (``points`` > 0) or take away (< 0) points by hand, with a reason; audited."""
    if actor is not None and not points_may_adjust(actor, customer):
        raise PermissionDenied("loyalty.adjust")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    if points == 0:
        raise ValidationError({"points": _("Points must not be zero.")})
    if points > 0:
        return _credit(
            customer=customer,
            kind=EntryKind.ADJUST,
            points=points,
            on=on,
            reason=reason.strip(),
            key=key,
            actor=actor,
            request=request,
        )
    if key is not None and PointsEntry.objects.filter(key=key).exists():
        return None
    return _debit(
        account=_lock(customer),
        kind=EntryKind.ADJUST,
        points=-points,
        on=on,
        reason=reason.strip(),
        key=key,
        actor=actor,
        request=request,
    )


@transaction.atomic
def points_opening_balance(
    *, customer: Customer, points: int, on: dt.date, actor: Any = None, key: str | None = None
) -> PointsEntry | None:
    """The balance carried over from a previous system (imports): a lot earned ``on``, once
    per customer. Who may adjust points may bring them in."""
    if actor is not None and not points_may_adjust(actor, customer):
        raise PermissionDenied("loyalty.adjust")
    return _credit(
        customer=customer,
        kind=EntryKind.OPENING,
        points=points,
        on=on,
        reason=_("opening balance"),
        key=key or f"opening:{customer.pk}",
        actor=actor,
    )


@dataclass
class ReverseResult:
    reversed: int = 0
    short: int = 0  # points already spent that could not be taken back
    restored: int = 0


@transaction.atomic
def points_reverse_order(
    *, order: Order, on: dt.date, actor: Any = None, request: Any = None
) -> ReverseResult:
    """Undo an order's points after a refund (all) or returns (their share of the amount).

    The earned points come off their own lot, as far as the balance allows (the balance never
    goes negative: the rest is recorded as not recovered); points redeemed on a refunded order
    are given back as a new lot. Safe to call again: only what is still due is written.
    """
    account = _lock(order.customer)
    out = ReverseResult()
    earn = PointsEntry.objects.filter(order=order, kind=EntryKind.EARN).first()
    if earn is not None:
        if order.status == OrderStatus.REFUNDED:
            share = Decimal(1)
        else:
            returned = Return.objects.filter(order=order).aggregate(s=Sum("amount"))["s"]
            share = Decimal(0)
            if order.amount:
                share = min(Decimal(1), Decimal(returned or 0) / order.amount)
        due = int((earn.points * share).quantize(Decimal(1), rounding=ROUND_FLOOR))
        done = -int(
            PointsEntry.objects.filter(lot=earn, kind=EntryKind.REVERSE).aggregate(s=Sum("points"))[
                "s"
            ]
            or 0
        )
        todo = due - done
        if todo > 0:
            _expire(account, on)
            take = min(todo, points_balance(account.customer_id))
            out.short = todo - take
            reason = order.number
            if out.short:
                reason = _("%(order)s (%(short)s points already spent)") % {
                    "order": order.number,
                    "short": out.short,
                }
            if take > 0:
                entry = PointsEntry.objects.create(
                    customer_id=account.customer_id,
                    kind=EntryKind.REVERSE,
                    points=-take,
                    on=on,
                    lot=earn,
                    expires_on=earn.expires_on,
                    order=order,
                    reason=reason,
                )
                audit_event(
                    actor=actor, action="create", obj=entry, after=snapshot(entry), request=request
                )
                out.reversed = take
    if order.status == OrderStatus.REFUNDED:
        spent = -int(
            PointsEntry.objects.filter(order=order, kind=EntryKind.REDEEM).aggregate(
                s=Sum("points")
            )["s"]
            or 0
        )
        if spent > 0:
            entry_or_none = _credit(
                customer=order.customer,
                kind=EntryKind.RESTORE,
                points=spent,
                on=on,
                reason=order.number,
                key=f"restore:{order.pk}",
                order=order,
                actor=actor,
                request=request,
            )
            out.restored = spent if entry_or_none is not None else 0
    return out


def points_reverse_due(*, on: dt.date) -> ReverseResult:
    """The nightly reversal: orders refunded or returned whose points were not reversed yet."""
    total = ReverseResult()
    earned = PointsEntry.objects.filter(kind=EntryKind.EARN, order__isnull=False)
    refunded = earned.filter(order__status=OrderStatus.REFUNDED).exclude(
        reversals__kind=EntryKind.REVERSE
    )
    returned = earned.filter(order__returns__isnull=False)
    order_ids = set(refunded.values_list("order_id", flat=True)) | set(
        returned.values_list("order_id", flat=True)
    )
    for order in Order.objects.filter(pk__in=order_ids).select_related("customer"):
        result = points_reverse_order(order=order, on=on)
        total.reversed += result.reversed
        total.short += result.short
        total.restored += result.restored
    return total


def tier_of(customer: Customer) -> Tier | None:
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    return None if account is None else account.tier
