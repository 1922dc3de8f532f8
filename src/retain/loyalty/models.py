"""Loyalty: the points ledger, membership tiers, referrals and coupons.

The points ledger is append-only: a customer's balance is the sum of their entries, and a
debit (redemption, expiry, negative adjustment, reversal) is written only while the
customer's :class:`LoyaltyAccount` row is locked, after checking the balance covers it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class TierBasis(models.TextChoices):
    SPEND = "spend", _("Spend in the last 12 months")
    POINTS = "points", _("Points earned in the last 12 months")


class LoyaltySettings(models.Model):
    """The programme's rules: one row (pk 1), edited in the back office."""

    points_per_yuan = models.DecimalField(
        _("points per yuan spent"), max_digits=8, decimal_places=2, default=Decimal(1)
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        default=24,
        help_text=_("0: points never expire"),
    )
    point_value = models.DecimalField(
        _("value of one point (yuan)"), max_digits=8, decimal_places=4, default=Decimal("0.01")
    )
    tier_basis = models.CharField(
        _("tiers by"), max_length=10, choices=TierBasis.choices, default=TierBasis.SPEND
    )
    tier_grace_days = models.PositiveSmallIntegerField(
        _("grace before a downgrade (days)"), default=90
    )
    birthday_bonus = models.PositiveIntegerField(_("birthday bonus (points)"), default=100)
    survey_bonus = models.PositiveIntegerField(_("survey answered (points)"), default=20)
    referrer_bonus = models.PositiveIntegerField(_("referral: referrer's points"), default=200)
    referee_bonus = models.PositiveIntegerField(_("referral: new customer's points"), default=100)
    return_window_days = models.PositiveSmallIntegerField(_("return window (days)"), default=15)

    class Meta:
        verbose_name = _("loyalty settings")
        verbose_name_plural = _("loyalty settings")

    def __str__(self) -> str:
        return str(_("loyalty settings"))


class Tier(models.Model):
    """A membership tier (普通 / 银卡 / 金卡 / 钻石) and its privileges."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    name_zh = models.CharField(_("Chinese name"), max_length=60, blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True)
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=14,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("12-month spend (yuan) or points earned that reaches this tier"),
    )
    multiplier = models.DecimalField(
        _("points multiplier"), max_digits=5, decimal_places=2, default=Decimal(1)
    )
    discount_percent = models.DecimalField(
        _("member discount (%)"), max_digits=5, decimal_places=2, default=Decimal(0)
    )
    priority = models.BooleanField(_("priority purchase and service"), default=False)
    free_shipping = models.BooleanField(_("free shipping"), default=False)
    dedicated_manager = models.BooleanField(_("dedicated account manager"), default=False)

    class Meta:
        verbose_name = _("membership tier")
        verbose_name_plural = _("membership tiers")
        ordering = ["rank"]

    def __str__(self) -> str:
        if self.name_zh and (get_language() or "").startswith("zh"):
            return self.name_zh
        return self.name


class RuleMode(models.TextChoices):
    MULTIPLIER = "multiplier", _("Multiplier")
    FIXED = "fixed", _("Fixed points")


class PointsRule(models.Model):
    """What a category or campaign rule shares: a multiple of the usual points, or a fixed
    number of points. ``subject`` names the rule's own foreign key (for ``__str__``)."""

    subject = ""
    mode = models.CharField(
        _("rule"), max_length=10, choices=RuleMode.choices, default=RuleMode.MULTIPLIER
    )
    multiplier = models.DecimalField(
        _("points multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(0))],
    )
    points = models.PositiveIntegerField(_("fixed points"), default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        subject = getattr(self, self.subject)
        if self.mode == RuleMode.FIXED:
            return f"{subject} +{self.points}"
        return f"{subject} x{self.multiplier}"


class CategoryRule(PointsRule):
    """Points for a product category: its order lines earn ``multiplier`` times the usual
    points, or a fixed number of points per line (whatever the amount)."""

    subject = "category"
    category = models.OneToOneField(
        "orders.ProductCategory", verbose_name=_("category"), on_delete=models.CASCADE
    )
    points = models.PositiveIntegerField(
        _("fixed points"), default=0, help_text=_("per order line, when the rule is fixed")
    )

    class Meta:
        verbose_name = _("category points rule")
        verbose_name_plural = _("category points rules")


class CampaignRule(PointsRule):
    """Points for a campaign: an order a participant places while the campaign runs earns
    ``multiplier`` times the usual points, or ``points`` more."""

    subject = "campaign"
    campaign = models.OneToOneField(
        "campaigns.Campaign", verbose_name=_("campaign"), on_delete=models.CASCADE
    )
    points = models.PositiveIntegerField(
        _("fixed points"), default=0, help_text=_("per order, when the rule is fixed")
    )

    class Meta:
        verbose_name = _("campaign points rule")
        verbose_name_plural = _("campaign points rules")


class LoyaltyAccount(models.Model):
    """A customer's membership: the row locked while points are spent, the tier, the code."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="loyalty",
    )
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT
    )
    tier_since = models.DateField(_("tier since"), null=True, blank=True)
    below_since = models.DateField(
        _("below the tier since"),
        null=True,
        blank=True,
        help_text=_("the grace period before a downgrade counts from this day"),
    )
    referral_code = models.CharField(_("referral code"), max_length=16, unique=True)
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.referral_code}"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned on an order")
    BONUS = "bonus", _("Bonus")
    REFERRAL = "referral", _("Referral reward")
    OPENING = "opening", _("Opening balance")
    ADJUST = "adjust", _("Adjustment")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    REVERSE = "reverse", _("Reversed (refund or return)")
    RESTORE = "restore", _("Given back (refund of a redemption)")


#: Kinds that add spendable points (lots, spent first in, first out).
CREDIT_KINDS = frozenset(
    {
        EntryKind.EARN,
        EntryKind.BONUS,
        EntryKind.REFERRAL,
        EntryKind.OPENING,
        EntryKind.RESTORE,
    }
)


class PointsEntry(models.Model):
    """One line of a customer's points ledger. Rows are only ever inserted."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="points_entries",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    on = models.DateField(_("date"))
    expires_on = models.DateField(
        _("expires on"),
        null=True,
        blank=True,
        help_text=_("points of this lot are no longer spendable from this day"),
    )
    lot = models.ForeignKey(
        "self",
        verbose_name=_("lot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversals",
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points_entries",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    key = models.CharField(
        _("key"),
        max_length=80,
        null=True,
        blank=True,
        unique=True,
        help_text=_("what the entry is for, so that it is written once (e.g. order:12)"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-on", "-pk"]
        indexes = [models.Index(fields=["customer", "on"]), models.Index(fields=["kind", "on"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="points_entry_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.points:+d}"


class TierChange(models.Model):
    """Tier history: one row per move (and the first tier given)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="tier_changes",
    )
    from_tier = models.ForeignKey(
        Tier,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_tier = models.ForeignKey(
        Tier, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    on = models.DateField(_("date"))
    basis = models.DecimalField(
        _("12-month figure"), max_digits=14, decimal_places=2, default=Decimal(0)
    )

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-on", "-pk"]
        indexes = [models.Index(fields=["on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.from_tier_id}->{self.to_tier_id} {self.on}"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the first paid order")
    REWARDED = "rewarded", _("Rewarded")
    REFUSED = "refused", _("Refused")


class ReferralVia(models.TextChoices):
    SIGNUP = "signup", _("Sign-up")
    ORDER = "order", _("First order")


class Referral(models.Model):
    """推荐有礼: a new customer brought by an existing one."""

    referrer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("referrer"),
        on_delete=models.CASCADE,
        related_name="referrals_made",
    )
    referee = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("new customer"),
        on_delete=models.CASCADE,
        related_name="referral",
    )
    via = models.CharField(_("attributed at"), max_length=10, choices=ReferralVia.choices)
    on = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    refusal = models.CharField(_("why refused"), max_length=200, blank=True)
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    rewarded_on = models.DateField(_("rewarded on"), null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("first paid order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-on", "-pk"]

    def __str__(self) -> str:
        return f"{self.referrer_id}->{self.referee_id} {self.status}"


class CouponKind(models.TextChoices):
    AMOUNT = "amount", _("Amount off")
    PERCENT = "percent", _("Percent off")
    SUBSCRIPTION = "subscription", _("Subscription discount (percent off every order)")


class Coupon(models.Model):
    """An offer: amount or percent off, minimum spend, validity, per-customer limit."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=CouponKind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("yuan off, or percent off"),
    )
    min_spend = models.DecimalField(
        _("minimum spend"), max_digits=12, decimal_places=2, default=Decimal(0)
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    per_customer_limit = models.PositiveSmallIntegerField(
        _("uses per customer"), default=1, validators=[MinValueValidator(1)]
    )
    tier = models.ForeignKey(
        Tier,
        verbose_name=_("privilege of tier"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("issued by the nightly run to every member of this tier or above"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-valid_from", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IssueVia(models.TextChoices):
    MANUAL = "manual", _("By hand")
    SEGMENT = "segment", _("Segment")
    PLAYBOOK = "playbook", _("Playbook action")
    TIER = "tier", _("Tier privilege")
    IMPORT = "import", _("Import")


class CouponIssue(models.Model):
    """A coupon given to one customer."""

    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.CASCADE, related_name="issues"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="coupons",
    )
    via = models.CharField(_("issued by"), max_length=10, choices=IssueVia.choices)
    issued_on = models.DateField(_("issued on"))
    uses = models.PositiveSmallIntegerField(_("uses"), default=0)

    class Meta:
        verbose_name = _("issued coupon")
        verbose_name_plural = _("issued coupons")
        ordering = ["-issued_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["coupon", "customer"], name="one_coupon_per_customer")
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id}:{self.customer_id}"


class CouponRedemption(models.Model):
    """A coupon used on an order."""

    issue = models.ForeignKey(
        CouponIssue, verbose_name=_("coupon"), on_delete=models.CASCADE, related_name="redemptions"
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="coupon_redemptions",
    )
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    on = models.DateField(_("date"))

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        ordering = ["-on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["issue", "order"], name="one_use_per_order")]

    def __str__(self) -> str:
        return f"{self.issue_id} {self.order_id}"


class ActionCoupon(models.Model):
    """A playbook action's "issue coupon" step: the daily run gives ``coupon`` to the plan's
    treated customers the action reaches (never to its control group)."""

    action = models.OneToOneField(
        "playbooks.PlaybookAction",
        verbose_name=_("playbook action"),
        on_delete=models.CASCADE,
        related_name="coupon_step",
    )
    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.CASCADE, related_name="action_steps"
    )

    class Meta:
        verbose_name = _("playbook coupon step")
        verbose_name_plural = _("playbook coupon steps")

    def __str__(self) -> str:
        return f"{self.action_id} -> {self.coupon_id}"
