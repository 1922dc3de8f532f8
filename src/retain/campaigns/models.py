from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignKind(models.TextChoices):
    PROMOTION = "promotion", _("Promotion")
    NEW_PRODUCT = "new_product", _("New-product trial")
    EVENT = "event", _("Event")
    NEWSLETTER = "newsletter", _("Newsletter")
    CARE = "care", _("Care")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.name


class CampaignParticipation(models.Model):
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="participations",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="campaign_participations",
    )
    joined_at = models.DateTimeField(_("joined at"))
    converted = models.BooleanField(_("converted"), default=False)

    class Meta:
        verbose_name = _("campaign participation")
        verbose_name_plural = _("campaign participations")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="join_campaign_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"
