from __future__ import annotations

from django.conf import settings
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
        from retain.scoring.conditions import conditions_validate

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

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
