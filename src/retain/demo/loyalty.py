"""The demo company's loyalty programme: 18 months of history, replayed month by month through
the services that real users' actions and the nightly run go through.

The programme launches ``LAUNCH_MONTHS`` months before the end of the history (on a month
end). That day every paid order placed so far earns its points at the base rate, each lot
dated by its order, so the oldest lots expire under the 24-month rule during the replay, and
every buyer gets a first tier. Then, at each month end (the nightly step's work, once a
month; the last step is the history's last day):

- the month's paid orders earn points (``points_earn_orders``, with the tier multipliers of
  the day);
- refunds are reversed: the generator writes a refunded order with its final status, but it
  was paid until its return, so an order returned after the launch earns first and loses its
  points on the day of its return (``points_reverse_order``), as when a refund arrives;
- survey bonuses, the nightly step's own function, mid-month and at the month end (birthday
  bonuses, given day by day, start with the first nightly run);
- new customers sign up with a member's referral code before their first order
  (``referral_attribute``, with a device id as the app gives it); both sides are rewarded once
  the first paid order is past the return window (``referrals_reward``). Two attempts are
  refused by the guards: a referrer who brings a second "friend" from the first one's device,
  and a planted duplicate who signs up with its original's code (same phone);
- coupons are used on the month's orders (``coupon_redeem``);
- lots due expire, first in, first out (``points_expire_all``);
- tiers are evaluated (``tiers_evaluate``): upgrades at once, downgrades after the grace;
- the gold members' coupon is given to gold and diamond members
  (``coupons_issue_tier_privileges``), the win-back coupon to the customers silent that
  month (180 to 365 days since their last paid order; at the last step through the saved
  segment 沉睡客户, whose status field says the same), and once the member-day coupon by
  hand to silver members and above;
- some members with enough points spend them during the next month, on one of their orders
  (at most a tenth of its amount) or for a reward (``points_redeem``), dated that month: the
  points they spend were credited before, so no redemption goes beyond the balance of its day.

Randomness comes from ``numpy.random.default_rng([seed, 19])``: the same seed makes the same
programme (referral codes apart, which the service draws with ``secrets``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db.models import Max, Sum
from django.utils import timezone

from retain.accounts.models import User
from retain.customers.models import Customer, CustomerKind
from retain.loyalty.coupons import (
    coupon_create,
    coupon_issue,
    coupon_issue_to_segment,
    coupon_redeem,
    coupons_issue_tier_privileges,
)
from retain.loyalty.ledger import (
    points_earn_orders,
    points_expire_all,
    points_redeem,
    points_reverse_order,
)
from retain.loyalty.models import (
    Coupon,
    CouponIssue,
    CouponKind,
    IssueVia,
    LoyaltyAccount,
    PointsEntry,
    ReferralStatus,
    Tier,
    TierChange,
)
from retain.loyalty.referrals import referral_attribute, referrals_reward
from retain.loyalty.services import survey_bonuses
from retain.loyalty.tiers import tiers_evaluate
from retain.orders.models import Order, OrderStatus, Return
from retain.playbooks.models import Segment

#: Bigger demo companies (benchmarks) get no loyalty history: the first nightly run earns.
REPLAY_MAX_CUSTOMERS = 10_000
#: How long before the end of the history the programme was launched.
LAUNCH_MONTHS = 18
#: Members with at least this many points may spend some.
REDEEM_FROM = 1000
#: Chance that a member with enough points spends some on an order of the next month, and
#: that one without an order that month exchanges some for a reward.
REDEEM_ON_ORDER = 0.12
REDEEM_FOR_REWARD = 0.04
#: Rewards (points), dearest first.
REWARDS = [
    (20000, "积分兑换：商务礼盒"),
    (8000, "积分兑换：定制保温杯"),
    (3000, "积分兑换：品牌帆布袋"),
    (1000, "积分兑换：咖啡券"),
]
#: Referrals: a share of the customers who first bought after the launch were brought by one.
REFERRED_SHARE = 0.1
#: Sign-ups who have not bought, per referral of a buyer.
PROSPECT_REFERRALS = 0.3
#: How the generator marks a planted duplicate (``chunk.duplicates_plant``).
DUPLICATE_NOTE = "demo: planted duplicate of "
#: Chance that a holder uses a coupon on an order it fits.
COUPON_USE = {"winback-50": 0.7, "member-day-90": 0.5, "gold-200": 0.5}
#: Name and conditions of the win-back coupon's saved segment.
SILENT_SEGMENT = "沉睡客户"
SILENT_CONDITIONS = {"all": [{"field": "status", "op": "eq", "value": "silent"}]}

DAY = dt.timedelta(days=1)


@dataclass
class DemoLoyalty:
    """What the replay wrote (entries and rows)."""

    launched_on: dt.date | None = None
    earned: int = 0  # orders that earned points
    bonuses: int = 0  # birthday and survey bonuses
    reversed: int = 0  # orders whose points were reversed after a refund
    redeemed: int = 0
    expired: int = 0  # points
    tier_changes: int = 0
    referrals: int = 0
    referrals_rewarded: int = 0
    referrals_refused: int = 0
    coupons: int = 0
    coupons_issued: int = 0
    coupons_redeemed: int = 0


@dataclass(frozen=True)
class _Order:
    pk: int
    customer_id: int
    day: dt.date
    amount: Decimal


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + DAY, dt.time()))


def _steps(as_of: dt.date) -> tuple[dt.date, list[dt.date]]:
    """The launch day (a month end) and the month ends after it, the last one ``as_of``."""
    launch = as_of - relativedelta(months=LAUNCH_MONTHS, day=31)
    steps = []
    day = launch + relativedelta(months=1, day=31)
    while day < as_of:
        steps.append(day)
        day += relativedelta(months=1, day=31)
    steps.append(as_of)
    return launch, steps


def demo_loyalty_simulate(*, seed: int, end: dt.datetime) -> DemoLoyalty:
    """Replay the demo's loyalty programme up to ``end`` (the end of the demo's history)."""
    as_of = timezone.localdate(end - dt.timedelta(microseconds=1))
    out = DemoLoyalty()
    if TierChange.objects.exists():
        # a second company in the same database: the programme has its history already;
        # the new customers' orders earn as in tonight's run
        out.earned = points_earn_orders(up_to=as_of).orders
        tiers_evaluate(as_of=as_of, now=end)
        return out
    rng = np.random.default_rng([seed, 19])
    launch, steps = _steps(as_of)
    out.launched_on = launch
    orders = [
        _Order(pk, cid, timezone.localdate(at), amount)
        for pk, cid, at, amount in Order.objects.filter(ordered_at__lt=end)
        .order_by("ordered_at", "pk")
        .values_list("pk", "customer_id", "ordered_at", "amount")
    ]
    refunds = _refunds_reopen(launch)
    coupons = _coupons_create(launch=launch, as_of=as_of)
    out.coupons = len(coupons)

    # the launch: what was bought so far earns, and every buyer gets a first tier
    out.earned += points_earn_orders(up_to=launch).orders
    _expire_due(launch, out)
    out.tier_changes += _tiers(launch)
    referrals = _referrals_draw(rng, orders=orders, launch=launch, as_of=as_of)
    prev = launch
    for step in steps:
        out.earned += points_earn_orders(up_to=step).orders
        out.reversed += _refunds_apply(refunds, after=prev, up_to=step)
        out.bonuses += _bonuses(after=prev, up_to=step)
        _referrals_attribute(referrals, after=prev, up_to=step, out=out)
        out.referrals_rewarded += referrals_reward(as_of=step).rewarded
        month = [o for o in orders if prev < o.day <= step]
        out.coupons_redeemed += _coupons_redeem(rng, coupons, month)
        _expire_due(step, out)
        out.tier_changes += _tiers(step)
        out.coupons_issued += _coupons_issue(coupons, step=step, last=step == as_of)
        if step != as_of:
            nxt = steps[steps.index(step) + 1]
            out.redeemed += _redeem(rng, [o for o in orders if step < o.day <= nxt], step, nxt)
        prev = step
    return out


# --------------------------------------------------------------------------- points


def _refunds_reopen(launch: dt.date) -> dict[int, dt.date]:
    """Orders refunded after the launch were paid until then: their status goes back to paid
    until the day of their return (order id -> that day)."""
    due = dict(
        Return.objects.filter(order__status=OrderStatus.REFUNDED)
        .values("order_id")
        .annotate(on=Max("returned_on"))
        .filter(on__gt=launch)
        .values_list("order_id", "on")
    )
    Order.objects.filter(pk__in=list(due)).update(status=OrderStatus.PAID)
    return due


def _refunds_apply(refunds: dict[int, dt.date], *, after: dt.date, up_to: dt.date) -> int:
    """The refunds of the month: the order is refunded again and its points reversed."""
    due = sorted((on, pk) for pk, on in refunds.items() if after < on <= up_to)
    Order.objects.filter(pk__in=[pk for _on, pk in due]).update(status=OrderStatus.REFUNDED)
    by_pk = Order.objects.select_related("customer").in_bulk([pk for _on, pk in due])
    done = 0
    for on, pk in due:
        if points_reverse_order(order=by_pk[pk], on=on).reversed:
            done += 1
    return done


def _bonuses(*, after: dt.date, up_to: dt.date) -> int:
    """Survey bonuses (answers of the last 30 days), mid-month and at the month end."""
    given = survey_bonuses(as_of=max(after + DAY, up_to - dt.timedelta(days=15)))
    return given + survey_bonuses(as_of=up_to)


def _expire_due(on: dt.date, out: DemoLoyalty) -> None:
    out.expired += points_expire_all(on=on)


def _tiers(on: dt.date) -> int:
    # the owners' notifications of the moves are dated on the day of the move
    result = tiers_evaluate(as_of=on, now=_end_of(on) - dt.timedelta(hours=2))
    return result.joined + result.upgraded + result.downgraded


def _redeem(rng: np.random.Generator, orders: list[_Order], after: dt.date, up_to: dt.date) -> int:
    """Members with enough points spend some between ``after`` and ``up_to``: on their first
    order of the period (at most a tenth of its amount), or for a reward."""
    balances = dict(
        PointsEntry.objects.values_list("customer_id")
        .annotate(s=Sum("points"))
        .filter(s__gte=REDEEM_FROM)
        .order_by("customer_id")
        .values_list("customer_id", "s")
    )
    first: dict[int, _Order] = {}
    for order in orders:
        first.setdefault(order.customer_id, order)
    paid = set(
        Order.objects.filter(
            pk__in=[o.pk for o in first.values()], status=OrderStatus.PAID
        ).values_list("pk", flat=True)
    )
    customers = Customer.objects.in_bulk(list(balances))
    days = (up_to - after).days
    plans: list[tuple[int, int, dt.date, int | None, str]] = []
    for cid, balance in balances.items():
        draw, share = rng.random(), rng.uniform(0.3, 0.8)
        day = after + int(rng.integers(1, days + 1)) * DAY
        earliest = first.get(cid)
        if earliest is not None and earliest.pk in paid:
            points = min(int(balance * share), int(earliest.amount * 10)) // 100 * 100
            if draw < REDEEM_ON_ORDER and points > 0:
                plans.append((cid, points, earliest.day, earliest.pk, ""))
        elif draw < REDEEM_FOR_REWARD:
            dear = [(p, r) for p, r in REWARDS if p <= balance * share]
            if dear:
                plans.append((cid, dear[0][0], day, None, dear[0][1]))
    on_orders = Order.objects.in_bulk([pk for *_x, pk, _r in plans if pk is not None])
    done = 0
    for cid, points, on, pk, reward in plans:
        try:
            points_redeem(
                customer=customers[cid],
                points=points,
                on=on,
                order=on_orders[pk] if pk is not None else None,
                reward=reward,
            )
        except ValidationError:
            continue  # lots expired in the meantime: the service refuses, as it would anyone
        done += 1
    return done


# --------------------------------------------------------------------------- referrals


@dataclass(frozen=True)
class _Referral:
    referee_id: int
    referrer_id: int
    on: dt.date
    device_id: str


def _referrals_draw(
    rng: np.random.Generator, *, orders: list[_Order], launch: dt.date, as_of: dt.date
) -> list[_Referral]:
    """Who brings whom: shoppers who first bought after the launch, brought by shoppers who
    were members at the launch, signed up a few days before their first order; plus the two
    abuses."""
    first: dict[int, dt.date] = {}
    for order in orders:
        first.setdefault(order.customer_id, order.day)
    persons = set(Customer.objects.filter(kind=CustomerKind.PERSON).values_list("pk", flat=True))
    members = set(LoyaltyAccount.objects.values_list("customer_id", flat=True))
    new = sorted(c for c, d in first.items() if c in persons and launch + 7 * DAY < d <= as_of)
    old = sorted(persons & members)
    if len(new) < 3 or not old:
        return []
    chosen = rng.choice(new, size=max(3, round(REFERRED_SHARE * len(new))), replace=False)
    drawn = []
    for referee in sorted(int(c) for c in chosen):
        on = max(launch + DAY, first[referee] - int(rng.integers(0, 7)) * DAY)
        drawn.append(
            _Referral(
                referee_id=referee,
                referrer_id=int(old[int(rng.integers(0, len(old)))]),
                on=on,
                device_id=f"demo-{int(rng.integers(0, 2**40)):010x}",
            )
        )
    # friends who signed up and have not bought (yet): never rewarded
    prospects = list(
        Customer.objects.filter(
            kind=CustomerKind.PERSON,
            orders__isnull=True,
            first_contact_date__gt=launch,
            first_contact_date__lte=as_of,
        )
        .exclude(notes__startswith=DUPLICATE_NOTE)
        .order_by("pk")
        .values_list("pk", "first_contact_date")
    )
    size = min(len(prospects), round(PROSPECT_REFERRALS * len(chosen)))
    for k in sorted(int(k) for k in rng.choice(len(prospects), size=size, replace=False)):
        drawn.append(
            _Referral(
                referee_id=prospects[k][0],
                referrer_id=int(old[int(rng.integers(0, len(old)))]),
                on=prospects[k][1] or as_of,  # (never None: filtered on the date above)
                device_id=f"demo-{int(rng.integers(0, 2**40)):010x}",
            )
        )
    drawn.sort(key=lambda r: (r.on, r.referee_id))
    # a referrer brings a second "friend" from the first one's device: refused
    taken = {r.referee_id for r in drawn}
    later = [c for c in new if c not in taken and first[c] > drawn[0].on + 7 * DAY]
    if later:
        abuser = int(later[int(rng.integers(0, len(later)))])
        drawn.append(
            _Referral(
                referee_id=abuser,
                referrer_id=drawn[0].referrer_id,
                on=first[abuser],
                device_id=drawn[0].device_id,
            )
        )
    # a planted duplicate signs up with its original's code (the same phone): refused
    duplicates = Customer.objects.filter(
        kind=CustomerKind.PERSON, notes__startswith=DUPLICATE_NOTE
    ).order_by("pk")
    originals = dict(
        Customer.objects.filter(
            code__in=[n.rsplit(" ", 1)[1] for n in duplicates.values_list("notes", flat=True)]
        ).values_list("code", "pk")
    )
    for dup, note in duplicates.values_list("pk", "notes"):
        original = originals.get(note.rsplit(" ", 1)[1])
        if original in members:
            on = launch + int(rng.integers(1, (as_of - launch).days)) * DAY
            drawn.append(_Referral(referee_id=dup, referrer_id=original, on=on, device_id=""))
            break
    drawn.sort(key=lambda r: (r.on, r.referee_id))
    return drawn


def _referrals_attribute(
    drawn: list[_Referral], *, after: dt.date, up_to: dt.date, out: DemoLoyalty
) -> None:
    month = [r for r in drawn if after < r.on <= up_to]
    if not month:
        return
    codes = dict(
        LoyaltyAccount.objects.filter(customer_id__in=[r.referrer_id for r in month]).values_list(
            "customer_id", "referral_code"
        )
    )
    referees = Customer.objects.in_bulk([r.referee_id for r in month])
    for r in month:
        referral = referral_attribute(
            referee=referees[r.referee_id],
            code=codes[r.referrer_id],
            on=r.on,
            device_id=r.device_id,
        )
        out.referrals += 1
        out.referrals_refused += referral.status == ReferralStatus.REFUSED


# --------------------------------------------------------------------------- coupons


def _coupons_create(*, launch: dt.date, as_of: dt.date) -> dict[str, Coupon]:
    """The demo's three coupons, made by the marketing user (or found, on a second run)."""
    marketing = User.objects.filter(username="marketing").first()
    winback_from = as_of - relativedelta(months=6, day=31)
    member_day = as_of - relativedelta(months=5, day=1)
    gold = Tier.objects.filter(code="gold").first()
    specs = {
        "winback-50": {
            "name": "沉睡客户回归礼：满300减50",
            "kind": CouponKind.AMOUNT,
            "value": Decimal(50),
            "min_spend": Decimal(300),
            "valid_from": winback_from,
            "valid_until": as_of + dt.timedelta(days=60),
        },
        "member-day-90": {
            "name": "会员日：满500享9折",
            "kind": CouponKind.PERCENT,
            "value": Decimal(10),
            "min_spend": Decimal(500),
            "valid_from": member_day,
            "valid_until": member_day + relativedelta(day=31),
        },
        "gold-200": {
            "name": "金卡会员专享：满2000减200",
            "kind": CouponKind.AMOUNT,
            "value": Decimal(200),
            "min_spend": Decimal(2000),
            "valid_from": launch + relativedelta(months=6, day=1),
            "valid_until": as_of + dt.timedelta(days=90),
            "per_customer_limit": 2,
            "tier": gold,
        },
    }
    out = {}
    for code, fields in specs.items():
        found = Coupon.objects.filter(code=code).first()
        out[code] = found or coupon_create(actor=marketing, code=code, **fields)
    return out


def _coupons_issue(coupons: dict[str, Coupon], *, step: dt.date, last: bool) -> int:
    """The month end's coupons: the gold privilege (the nightly step's), the win-back coupon
    to the customers silent that month, the member-day coupon the month before it runs."""
    marketing = User.objects.filter(username="marketing").first()
    issued = coupons_issue_tier_privileges(as_of=step)
    winback = coupons["winback-50"]
    if winback.valid_from <= step:
        if last:
            segment = Segment.objects.filter(name=SILENT_SEGMENT).first()
            if segment is None:
                from retain.playbooks.services import segment_save

                manager = User.objects.filter(username="manager").first()
                segment = segment_save(
                    segment=None,
                    name=SILENT_SEGMENT,
                    description="180–365 天未购买的客户（回归礼）",
                    conditions=SILENT_CONDITIONS,
                    actor=manager,
                )
            issued += coupon_issue_to_segment(
                coupon=winback, segment=segment, on=step, actor=marketing
            )
        else:
            last_paid = (
                Order.objects.filter(status=OrderStatus.PAID, ordered_at__lt=_end_of(step))
                .values("customer_id")
                .annotate(last=Max("ordered_at"))
                .filter(last__lt=_end_of(step - dt.timedelta(days=180)))
                .filter(last__gte=_end_of(step - dt.timedelta(days=365)))
                .values_list("customer_id", flat=True)
            )
            issued += coupon_issue(
                coupon=winback,
                customer_ids=list(last_paid),
                via=IssueVia.SEGMENT,
                on=step,
                actor=marketing,
            )
    member_day = coupons["member-day-90"]
    if step + DAY == member_day.valid_from:
        silver_up = LoyaltyAccount.objects.filter(tier__rank__gte=1).values_list(
            "customer_id", flat=True
        )
        issued += coupon_issue(
            coupon=member_day,
            customer_ids=list(silver_up),
            via=IssueVia.MANUAL,
            on=step,
            actor=marketing,
        )
    return issued


def _coupons_redeem(
    rng: np.random.Generator, coupons: dict[str, Coupon], month: list[_Order]
) -> int:
    """Holders use a coupon on an order it fits (valid that day, issued before, minimum
    spend reached, uses left), with the coupon's chance: at most one coupon per order."""
    if not month:
        return 0
    by_customer: dict[int, list[CouponIssue]] = defaultdict(list)
    for issue in CouponIssue.objects.filter(
        coupon__in=list(coupons.values()), customer_id__in={o.customer_id for o in month}
    ).order_by("coupon__code", "customer_id"):
        by_customer[issue.customer_id].append(issue)
    if not by_customer:
        return 0
    paid = set(
        Order.objects.filter(pk__in=[o.pk for o in month], status=OrderStatus.PAID).values_list(
            "pk", flat=True
        )
    )
    by_pk = {c.pk: c for c in coupons.values()}
    customers = Customer.objects.in_bulk(list(by_customer))
    rows = Order.objects.in_bulk([o.pk for o in month if o.customer_id in by_customer])
    used: dict[int, int] = defaultdict(int)
    done = 0
    for order in month:
        if order.pk not in paid:
            continue
        for issue in by_customer.get(order.customer_id, []):
            coupon = by_pk[issue.coupon_id]
            fits = (
                issue.issued_on <= order.day
                and coupon.valid_from <= order.day <= coupon.valid_until
                and order.amount >= coupon.min_spend
                and issue.uses + used[issue.pk] < coupon.per_customer_limit
            )
            if not fits or rng.random() >= COUPON_USE[coupon.code]:
                continue
            coupon_redeem(
                customer=customers[order.customer_id],
                code=coupon.code,
                order=rows[order.pk],
                on=order.day,
            )
            used[issue.pk] += 1
            done += 1
            break
    return done
