from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

#: A follow-up should be logged within this long of happening (PRODUCT.md section 6).
LOGGING_DEADLINE = timedelta(hours=24)


class FollowUpKind(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat")
    OTHER = "other", _("Other")


class FollowUp(models.Model):
    """A follow-up record (跟进记录): what happened, what the customer said, what comes next."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="followups",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups",
    )
    kind = models.CharField(_("method"), max_length=20, choices=FollowUpKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    content = models.TextField(_("content"))
    feedback = models.TextField(_("customer feedback"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_step_on = models.DateField(_("next step date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups",
    )
    logged_at = models.DateTimeField(_("logged at"))

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def logging_delay(self) -> timedelta:
        return self.logged_at - self.occurred_at

    @property
    def logged_late(self) -> bool:
        return self.logging_delay > LOGGING_DEADLINE
