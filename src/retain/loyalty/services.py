"""The loyalty step of the nightly run, and the bonuses it gives."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.audit.services import audit_events_bulk
from retain.customers.models import Customer
from retain.loyalty.coupons import coupons_issue_tier_privileges
from retain.loyalty.ledger import (
    accounts_ensure,
    expiry_date,
    loyalty_settings,
    points_earn_orders,
    points_expire_all,
    points_reverse_due,
)
from retain.loyalty.models import EntryKind, PointsEntry
from retain.loyalty.referrals import referrals_reward
from retain.loyalty.tiers import tiers_evaluate
from retain.surveys.models import SurveyResponse


def _bonuses_bulk(rows: list[tuple[int, str, str]], *, points: int, on: dt.date) -> int:
    """Write bonus lots (customer id, key, reason) whose key is new; returns how many."""
    if points <= 0 or not rows:
        return 0
    taken = set(
        PointsEntry.objects.filter(key__in=[k for _c, k, _r in rows]).values_list("key", flat=True)
    )
    months = loyalty_settings().expiry_months
    new = [
        PointsEntry(
            customer_id=cid,
            kind=EntryKind.BONUS,
            points=points,
            on=on,
            expires_on=expiry_date(on, months),
            key=key,
            reason=reason,
        )
        for cid, key, reason in rows
        if key not in taken
    ]
    accounts_ensure({e.customer_id for e in new})
    PointsEntry.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    saved = list(PointsEntry.objects.filter(key__in=[e.key for e in new]))
    audit_events_bulk(actor=None, action="create", objs=saved)
    return len(saved)


def birthday_bonuses(*, as_of: dt.date) -> int:
    """The birthday bonus, once a year, to customers born on this day (29 February on the
    28th in other years)."""
    conf = loyalty_settings()
    days = Q(birthday__month=as_of.month, birthday__day=as_of.day)
    if as_of.month == 2 and as_of.day == 28 and not calendar.isleap(as_of.year):
        days |= Q(birthday__month=2, birthday__day=29)
    ids = Customer.objects.filter(days).values_list("pk", flat=True)
    rows = [(pk, f"birthday:{pk}:{as_of.year}", _("birthday")) for pk in ids]
    return _bonuses_bulk(rows, points=conf.birthday_bonus, on=as_of)


def survey_bonuses(*, as_of: dt.date) -> int:
    """The survey bonus, once per answered survey, up to ``as_of``."""
    conf = loyalty_settings()
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    start = end - dt.timedelta(days=30)  # late answers still count; older ones were seen
    answered = SurveyResponse.objects.filter(answered_at__gte=start, answered_at__lt=end)
    rows = [
        (cid, f"survey:{pk}", _("survey answered"))
        for pk, cid in answered.values_list("pk", "customer_id")
    ]
    return _bonuses_bulk(rows, points=conf.survey_bonus, on=as_of)


@dataclass
class LoyaltyRun:
    earned: int = 0
    reversed: int = 0
    birthdays: int = 0
    surveys: int = 0
    referrals: int = 0
    expired: int = 0
    upgraded: int = 0
    downgraded: int = 0
    in_grace: int = 0
    coupons: int = 0


def loyalty_nightly(*, as_of: dt.date, now: dt.datetime) -> LoyaltyRun:
    """Points for new orders, reversals of refunds and returns, birthday and survey bonuses,
    referral rewards, expiry, tiers and tier coupons, as of ``as_of``. Idempotent."""
    out = LoyaltyRun()
    out.earned = points_earn_orders(up_to=as_of).points
    out.reversed = points_reverse_due(on=as_of).reversed
    with transaction.atomic():
        out.birthdays = birthday_bonuses(as_of=as_of)
        out.surveys = survey_bonuses(as_of=as_of)
    out.referrals = referrals_reward(as_of=as_of).rewarded
    out.expired = points_expire_all(on=as_of)
    tiers = tiers_evaluate(as_of=as_of, now=now)
    out.upgraded, out.downgraded, out.in_grace = tiers.upgraded, tiers.downgraded, tiers.in_grace
    out.coupons = coupons_issue_tier_privileges(as_of=as_of)
    return out
