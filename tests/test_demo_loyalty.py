"""The demo company's loyalty programme: a believable history written by the loyalty services."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Count, F, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from retain.accounts.models import User
from retain.demo.loyalty import LAUNCH_MONTHS
from retain.kpis.figures import loyalty_figures
from retain.loyalty.ledger import expiry_date, loyalty_settings
from retain.loyalty.models import (
    CouponIssue,
    CouponRedemption,
    EntryKind,
    IssueVia,
    LoyaltyAccount,
    PointsEntry,
    Referral,
    ReferralStatus,
    Tier,
    TierChange,
)
from retain.loyalty.tiers import tier_figures, tier_for
from retain.orders.models import Order, OrderStatus, Return
from retain.playbooks.models import Segment
from retain.playbooks.selectors import segment_members
from tests.conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.mark.django_db  # read only: one company for the class, rolled back after it
class TestTheDemoProgramme:
    def test_the_programme_runs_from_its_launch_to_the_end_of_the_history(self, demo_company_read):
        launch = demo_company_read.loyalty.launched_on
        days = set(TierChange.objects.values_list("on", flat=True))

        assert launch == dt.date(2025, 5, 31)  # LAUNCH_MONTHS before AS_OF, a month end
        assert (AS_OF.year - launch.year) * 12 + AS_OF.month - launch.month == LAUNCH_MONTHS
        # tiers evaluated at the launch and at each month end: as-of dates, not today's
        assert min(days) == launch
        assert AS_OF - dt.timedelta(days=31) <= max(days) <= AS_OF
        assert len(days) >= 15
        assert not PointsEntry.objects.filter(on__gt=AS_OF).exists()
        assert not Referral.objects.filter(on__gt=AS_OF).exists()
        assert not CouponRedemption.objects.filter(on__gt=AS_OF).exists()
        # the counts the demo reports are what it wrote
        result = demo_company_read.loyalty
        assert result.referrals == Referral.objects.count()
        assert result.tier_changes == TierChange.objects.count()
        assert result.coupons_redeemed == CouponRedemption.objects.count()
        assert (
            result.expired
            == -PointsEntry.objects.filter(kind=EntryKind.EXPIRE).aggregate(s=Sum("points"))["s"]
        )

    def test_the_ledger_never_goes_below_zero_on_any_day(self, demo_company_read):
        running: dict[int, int] = defaultdict(int)
        lowest: dict[int, int] = {}
        for cid, points in PointsEntry.objects.order_by("customer_id", "on", "pk").values_list(
            "customer_id", "points"
        ):
            running[cid] += points
            lowest[cid] = min(lowest.get(cid, 0), running[cid])
        with_points = sum(1 for total in running.values() if total > 0)

        assert LoyaltyAccount.objects.count() > 200
        assert with_points > 150
        assert min(lowest.values()) == 0  # no redemption beyond the balance of its day
        assert min(running.values()) >= 0

    def test_each_paid_order_earned_once_on_its_day(self, demo_company_read):
        earned = PointsEntry.objects.filter(kind=EntryKind.EARN)
        paid = Order.objects.filter(status=OrderStatus.PAID, ordered_at__lt=_end())

        assert earned.count() == earned.values("order").distinct().count()
        assert not paid.exclude(points_entries__kind=EntryKind.EARN).filter(amount__gte=1).exists()
        for entry in earned.select_related("order")[:200]:
            assert entry.on == timezone.localdate(entry.order.ordered_at)
            assert entry.expires_on == expiry_date(entry.on, loyalty_settings().expiry_months)

    def test_every_kind_of_entry_occurs(self, demo_company_read):
        kinds = dict(
            PointsEntry.objects.values("kind").annotate(n=Count("pk")).values_list("kind", "n")
        )
        redeemed = PointsEntry.objects.filter(kind=EntryKind.REDEEM)

        for kind in (
            EntryKind.EARN,
            EntryKind.REDEEM,
            EntryKind.EXPIRE,
            EntryKind.REVERSE,
            EntryKind.REFERRAL,
            EntryKind.BONUS,
        ):
            assert kinds.get(kind, 0) > 0, kind
        assert kinds[EntryKind.EARN] > kinds[EntryKind.REDEEM] > 10
        assert redeemed.filter(order__isnull=False).exists()
        assert redeemed.filter(order__isnull=True, reason__startswith="积分兑换").exists()
        # points spent on an order: on its day, at most a tenth of its amount (0.01 yuan each)
        for entry in redeemed.filter(order__isnull=False).select_related("order"):
            assert entry.on == timezone.localdate(entry.order.ordered_at)
            assert -entry.points * Decimal("0.01") <= entry.order.amount / 10

    def test_points_expire_first_in_first_out_after_the_expiry_period(self, demo_company_read):
        months = loyalty_settings().expiry_months
        first_lot = dict(
            PointsEntry.objects.filter(kind=EntryKind.EARN)
            .values("customer_id")
            .annotate(on=Min("on"))
            .values_list("customer_id", "on")
        )
        expired = PointsEntry.objects.filter(kind=EntryKind.EXPIRE)

        assert expired.count() > 20
        for cid, on in expired.values_list("customer_id", "on"):
            assert on >= expiry_date(first_lot[cid], months)

    def test_refunds_reverse_the_points_and_orders_keep_their_status(self, demo_company_read):
        reversed_ = PointsEntry.objects.filter(kind=EntryKind.REVERSE).select_related("lot")
        returned_on = dict(Return.objects.values_list("order_id", "returned_on"))

        # the replay gave refunded orders back their status
        assert Order.objects.filter(status=OrderStatus.REFUNDED).count() == len(returned_on)
        assert reversed_.count() > 3
        for entry in reversed_:
            assert entry.order.status == OrderStatus.REFUNDED
            assert entry.on == returned_on[entry.order_id]
            # all the order's points, or what was left and a reason that says so
            assert entry.points == -entry.lot.points or entry.reason != entry.order.number

    def test_tier_history_has_upgrades_and_downgrades_after_the_grace(self, demo_company_read):
        history = TierChange.objects.order_by("customer_id", "on", "pk").values_list(
            "customer_id", "on", "from_tier__rank", "to_tier__rank"
        )
        grace = dt.timedelta(days=loyalty_settings().tier_grace_days)

        ups = downs = 0
        last: dict[int, dt.date] = {}
        for cid, on, rank_from, rank_to in history:
            if rank_from is None:
                assert cid not in last  # the first tier comes first, once
            elif rank_to > rank_from:
                ups += 1
            else:
                # the figure fell below the tier at the earliest on the day of the last move
                assert on >= last[cid] + grace, (cid, on, last[cid])
                downs += 1
            last[cid] = on
        assert ups > 5 and downs > 5

    def test_every_tier_has_members_and_tiers_follow_the_12_month_spend(self, demo_company_read):
        figures = tier_figures(as_of=AS_OF, basis=loyalty_settings().tier_basis)
        tiers = list(Tier.objects.order_by("rank"))
        distribution = dict(
            LoyaltyAccount.objects.values("tier__code")
            .annotate(n=Count("pk"))
            .values_list("tier__code", "n")
        )

        assert set(distribution) == {"regular", "silver", "gold", "diamond"}
        assert distribution["regular"] > distribution["silver"] > distribution["diamond"] > 0
        assert distribution["regular"] > distribution["gold"] > distribution["diamond"]
        for account in LoyaltyAccount.objects.select_related("tier"):
            reached = tier_for(figures.get(account.customer_id, Decimal(0)), tiers)
            if account.below_since is None:
                assert reached == account.tier, account.customer_id
            else:  # in the grace
                assert reached.rank < account.tier.rank, account.customer_id

    def test_referrals_are_rewarded_after_the_return_window_and_abuse_is_refused(
        self, demo_company_read
    ):
        conf = loyalty_settings()
        window = dt.timedelta(days=conf.return_window_days)
        rewarded = Referral.objects.filter(status=ReferralStatus.REWARDED).select_related("order")
        refused = Referral.objects.filter(status=ReferralStatus.REFUSED)

        assert rewarded.count() >= 5
        assert Referral.objects.filter(status=ReferralStatus.PENDING).exists()
        for referral in rewarded:
            assert referral.rewarded_on >= timezone.localdate(referral.order.ordered_at) + window
            assert referral.on <= timezone.localdate(referral.order.ordered_at)
            bonus = PointsEntry.objects.get(key=f"referral:{referral.pk}:referee")
            assert (bonus.customer_id, bonus.points) == (referral.referee_id, conf.referee_bonus)
        assert set(refused.values_list("refusal", flat=True)) == {
            _("same device as another customer this referrer brought"),
            _("same phone number as the referrer"),
        }
        assert not PointsEntry.objects.filter(
            customer_id__in=refused.values("referee_id"), kind=EntryKind.REFERRAL
        ).exists()

    def test_coupons_are_issued_and_some_are_used_on_real_orders(self, demo_company_read):
        issues = CouponIssue.objects.select_related("coupon")
        used = CouponRedemption.objects.select_related("issue__coupon", "order")
        silent = Segment.objects.get(name="沉睡客户")

        assert set(issues.values_list("via", flat=True)) == {
            IssueVia.SEGMENT,
            IssueVia.TIER,
            IssueVia.MANUAL,
        }
        assert set(used.values_list("issue__coupon__code", flat=True)) == {
            "winback-50",
            "member-day-90",
            "gold-200",
        }
        # the win-back coupon went to the saved segment's members on the last day
        members = set(segment_members(segment=silent).values_list("pk", flat=True))
        assert members
        assert members <= set(
            issues.filter(coupon__code="winback-50").values_list("customer_id", flat=True)
        )
        for redemption in used:
            coupon, order = redemption.issue.coupon, redemption.order
            assert order.customer_id == redemption.issue.customer_id
            assert redemption.on == timezone.localdate(order.ordered_at)
            assert redemption.issue.issued_on <= redemption.on
            assert coupon.valid_from <= redemption.on <= coupon.valid_until
            assert order.amount >= coupon.min_spend
        assert not issues.filter(uses__gt=F("coupon__per_customer_limit")).exists()
        assert sum(issues.values_list("uses", flat=True)) == used.count()

    def test_the_boards_loyalty_figures_are_not_empty(self, demo_company_read):
        figures = loyalty_figures(as_of=AS_OF, user=User.objects.get(username="admin"))

        assert figures.members > 200
        assert figures.liability > 0
        assert 0.05 < figures.redemption_rate < 0.6
        assert 0 < figures.breakage < 0.5
        assert figures.upgrades_12m > 0 and figures.downgrades_12m > 0
        assert 0.3 < figures.referral_conversion < 1
        assert 0 < figures.coupon_redemption < 0.5


def _end() -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time()))
