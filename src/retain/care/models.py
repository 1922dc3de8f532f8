from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Occasion(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    NEW_YEAR = "new_year", _("New Year's Day")
    SPRING_FESTIVAL = "spring_festival", _("Spring Festival")
    LANTERN = "lantern", _("Lantern Festival")
    DRAGON_BOAT = "dragon_boat", _("Dragon Boat Festival")
    MID_AUTUMN = "mid_autumn", _("Mid-Autumn Festival")
    NATIONAL_DAY = "national_day", _("National Day")
    ANNIVERSARY = "anniversary", _("Anniversary of the first contact")
    CUSTOM = "custom", _("Custom date")


class CareChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class CareTemplate(models.Model):
    """A greeting for an occasion, rendered per customer (Django template syntax)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    occasion = models.CharField(_("occasion"), max_length=20, choices=Occasion.choices)
    custom_month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True)
    custom_day = models.PositiveSmallIntegerField(_("day"), null=True, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=CareChannel.choices, default=CareChannel.EMAIL
    )
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(
        _("body"),
        help_text=_("{{ name }}, {{ customer.name }} and {{ unsubscribe_url }} are filled in."),
    )
    active = models.BooleanField(_("active"), default=True)
    segment = models.ForeignKey(
        "playbooks.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_templates",
        help_text=_("Only customers of this saved segment; empty: everyone who consented."),
    )

    playbook = models.ForeignKey(
        "playbooks.Playbook",
        verbose_name=_("part of plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_templates",
        help_text=_("Measured with this retention plan: its control group gets no message."),
    )

    class Meta:
        verbose_name = _("care template")
        verbose_name_plural = _("care templates")
        ordering = ["occasion", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.occasion == Occasion.CUSTOM and not (self.custom_month and self.custom_day):
            raise ValidationError({"custom_day": _("A custom occasion needs a month and a day.")})
        if self.channel == CareChannel.WEBHOOK and not self.webhook_url:
            raise ValidationError({"webhook_url": _("The webhook channel needs a URL.")})
        from retain.care.templating import template_validate

        errors = {
            field: [str(p) for p in problems]
            for field in ("subject", "body")
            if (problems := template_validate(getattr(self, field)))
        }
        if errors:
            raise ValidationError(errors)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One greeting to one address on one day: the delivery log (with attempts)."""

    template = models.ForeignKey(
        CareTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="care_deliveries",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    on = models.DateField(_("date"))
    address = models.CharField(_("address"), max_length=300)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    send_after = models.DateTimeField(_("send after"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(
        _("read at"), null=True, blank=True, help_text=_("When the channel reported it read.")
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-on", "id"]
        constraints = [
            # Erasure blanks the address of every greeting of the customer: blank addresses
            # are no address, and never collide with each other.
            models.UniqueConstraint(
                fields=["template", "on", "address"],
                condition=~models.Q(address=""),
                name="one_greeting_per_address_and_day",
            ),
            models.UniqueConstraint(
                fields=["campaign", "address"],
                condition=models.Q(campaign__isnull=False),
                name="one_campaign_message_per_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template or self.campaign} → {self.address} {self.on}"

    @property
    def source(self) -> CareTemplate | Any:
        """The care template or the campaign the message comes from (channel, webhook URL)."""
        return self.template if self.template_id else self.campaign
