from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    """A saved segment: conditions over scores, tags, owner and region (AND / OR groups)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    conditions = models.JSONField(
        _("conditions"),
        help_text=_('e.g. {"all": [{"field": "quadrant", "op": "eq", "value": "core"}]}'),
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from retain.playbooks.conditions import conditions_validate

        conditions_validate(self.conditions)


class Playbook(models.Model):
    """维系计划: a retention plan for one segment, with its actions and an owner."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="playbooks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("plan owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbooks",
        help_text=_("Executes the plan; gets the tasks of customers without an owner."),
    )
    active = models.BooleanField(_("active"), default=True)
    holdout_percent = models.PositiveSmallIntegerField(
        _("control group (%)"),
        default=10,
        validators=[MaxValueValidator(50)],
        help_text=_(
            "Share of the eligible customers kept out of the plan at random, to measure it."
        ),
    )
    min_effect_points = models.PositiveSmallIntegerField(
        _("smallest effect worth knowing (points)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_(
            "Rise in the 90-day repurchase rate the plan is sized to detect; "
            "the verdict waits until enough customers have been followed for it."
        ),
    )
    goals = models.ManyToManyField(
        "kpis.Goal",
        verbose_name=_("board goals"),
        blank=True,
        related_name="playbooks",
        help_text=_("The board's goals this plan serves: their cards show its measured effect."),
    )

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlaybookVariant(models.Model):
    """One arm of a plan run as A / B / n: its own actions, its own share of the treated."""

    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="variants"
    )
    name = models.CharField(_("name"), max_length=60)
    share = models.PositiveSmallIntegerField(
        _("share"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Weight among the variants: 1 and 1 split the treated customers in half."),
    )

    class Meta:
        verbose_name = _("plan variant")
        verbose_name_plural = _("plan variants")
        ordering = ["playbook", "id"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "name"], name="variant_name_per_playbook")
        ]

    def __str__(self) -> str:
        return f"{self.playbook}: {self.name}"


class PlanAssignment(models.Model):
    """Which arm of a plan a customer is in (control or a variant), from the day they entered
    its target until the day they left it. Logged once at entry, never re-drawn."""

    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="assignments"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="plan_assignments",
    )
    holdout = models.BooleanField(_("control group"))
    variant = models.ForeignKey(
        PlaybookVariant,
        verbose_name=_("variant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    entered_at = models.DateTimeField(_("entered at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")
        indexes = [
            models.Index(fields=["playbook", "holdout", "variant"], name="assignment_arm"),
            models.Index(fields=["customer", "playbook"], name="assignment_customer"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "customer"],
                condition=models.Q(left_at__isnull=True),
                name="one_live_assignment_per_plan",
            )
        ]

    def __str__(self) -> str:
        return f"{self.playbook_id}:{self.customer_id}"


class ActionChannel(models.TextChoices):
    """How an action reaches the customer; the consent channel it needs, if any."""

    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    COMMUNITY = "community", _("Community")


#: Channels that contact a customer and so need their consent on that channel.
CONSENT_CHANNELS = {
    ActionChannel.PHONE: "phone",
    ActionChannel.EMAIL: "email",
    ActionChannel.SMS: "sms",
    ActionChannel.WECHAT: "wechat",
}


class OwnerRule(models.TextChoices):
    ACCOUNT_OWNER = "account_owner", _("Account owner")
    TEAM_ROUND_ROBIN = "team_round_robin", _("Round-robin within a team")
    FIXED_USER = "fixed_user", _("Fixed user")


class PlaybookAction(models.Model):
    """One recurring action of a playbook: what, how often, on which channel, by whom."""

    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="actions"
    )
    name = models.CharField(_("name"), max_length=100)
    every_days = models.PositiveIntegerField(
        _("every (days)"), help_text=_("Cadence: a new task this many days after the last one.")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=ActionChannel.choices)
    template = models.TextField(
        _("message template"),
        blank=True,
        help_text=_("What to say or send; {{ customer.name }} and {{ owner }} are filled in."),
    )
    owner_rule = models.CharField(
        _("owner rule"), max_length=20, choices=OwnerRule.choices, default=OwnerRule.ACCOUNT_OWNER
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fixed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fixed user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    variant = models.ForeignKey(
        PlaybookVariant,
        verbose_name=_("variant"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="actions",
        help_text=_("Only for the customers of this variant; empty: every treated customer."),
    )
    round_robin_next = models.PositiveIntegerField(default=0, editable=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("playbook action")
        verbose_name_plural = _("playbook actions")
        ordering = ["playbook", "every_days", "name"]

    def __str__(self) -> str:
        return f"{self.playbook}: {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.every_days is not None and self.every_days < 1:
            raise ValidationError({"every_days": _("The cadence must be at least one day.")})
        if self.owner_rule == OwnerRule.TEAM_ROUND_ROBIN and self.team_id is None:
            raise ValidationError({"team": _("Round-robin needs a team.")})
        if self.owner_rule == OwnerRule.FIXED_USER and self.fixed_user_id is None:
            raise ValidationError({"fixed_user": _("A fixed-user rule needs a user.")})
        from retain.care.templating import template_validate

        problems = template_validate(self.template)
        if problems:
            raise ValidationError({"template": [str(p) for p in problems]})


class CaseOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")


class PlanCase(models.Model):
    """A case of success or failure of a plan, recorded with a note at the monthly review."""

    playbook = models.ForeignKey(
        Playbook, verbose_name=_("playbook"), on_delete=models.CASCADE, related_name="cases"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_cases",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reviewed."))
    outcome = models.CharField(_("outcome"), max_length=10, choices=CaseOutcome.choices)
    note = models.TextField(_("note"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("plan case")
        verbose_name_plural = _("plan cases")
        ordering = ["-month", "-created_at", "-id"]
        indexes = [models.Index(fields=["month", "playbook"], name="case_month_plan")]

    def __str__(self) -> str:
        return f"{self.playbook_id} {self.month:%Y-%m} {self.outcome}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.month is not None and self.month.day != 1:
            raise ValidationError({"month": _("A month starts on its first day.")})
        if not (self.note or "").strip():
            raise ValidationError({"note": _("Say what happened in a note.")})
