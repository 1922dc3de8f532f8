from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignKind(models.TextChoices):
    PROMOTION = "promotion", _("Promotion")
    NEW_PRODUCT = "new_product", _("New-product trial")
    EVENT = "event", _("Event")
    NEWSLETTER = "newsletter", _("Newsletter")
    INDUSTRY_NEWS = "industry_news", _("Industry news")
    CARE = "care", _("Care")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    # A one-off message to a segment (optional: a campaign may also be recorded only).
    segment = models.ForeignKey(
        "playbooks.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook",
        verbose_name=_("part of plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
        help_text=_("Measured with this retention plan: its control group gets no message."),
    )
    channel = models.CharField(
        _("channel"),
        max_length=10,
        choices=[("email", _("Email")), ("webhook", _("Webhook"))],
        default="email",
        db_default="email",
    )
    webhook_url = models.URLField(_("webhook URL"), blank=True, db_default="")
    subject = models.CharField(_("subject"), max_length=200, blank=True, db_default="")
    body = models.TextField(_("body"), blank=True, db_default="")
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CampaignStatus.choices,
        default=CampaignStatus.DRAFT,
        db_default=CampaignStatus.DRAFT,
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from retain.care.templating import template_validate

        errors: dict[str, list[str]] = {
            field: [str(p) for p in problems]
            for field in ("subject", "body")
            if (problems := template_validate(getattr(self, field)))
        }
        if self.channel == "webhook" and not self.webhook_url:
            errors["webhook_url"] = [str(_("The webhook channel needs a URL."))]
        if self.segment_id and not (self.subject and self.body):
            errors.setdefault("body", []).append(
                str(_("A message to a segment needs a subject and a body."))
            )
        if errors:
            raise ValidationError(errors)


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
