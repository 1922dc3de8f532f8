from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class ComplaintChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Online chat")
    SOCIAL = "social", _("Social media")
    IN_PERSON = "in_person", _("In person")


class ComplaintKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")


class Complaint(models.Model):
    """A complaint or a service inquiry (咨询), from opening to close."""

    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=ComplaintKind.choices,
        default=ComplaintKind.COMPLAINT,
        db_default=ComplaintKind.COMPLAINT,  # bulk writers insert without it
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="complaints",
    )
    opened_at = models.DateTimeField(_("opened at"))
    channel = models.CharField(_("channel"), max_length=20, choices=ComplaintChannel.choices)
    category = models.CharField(_("category"), max_length=100)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL
    )
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN
    )
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopened_at = models.DateTimeField(
        _("reopened at"),
        null=True,
        blank=True,
        help_text=_("When it was last reopened; its resolution deadline counts from then."),
    )
    resolution_escalated_at = models.DateTimeField(
        _("resolution escalated at"),
        null=True,
        blank=True,
        help_text=_("When the managers were told it was not resolved in time."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.category} {self.opened_at:%Y-%m-%d}"


class ComplaintEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    ASSIGNED = "assigned", _("Assigned")
    RESPONDED = "responded", _("Answered")
    NOTE = "note", _("Note")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    ESCALATED = "escalated", _("Escalated")
    SATISFACTION_ASKED = "satisfaction_asked", _("Satisfaction asked")


class ComplaintEvent(models.Model):
    """One step of a complaint's handling: what happened, when, by whom, with what text.

    The customer's timeline shows these; the audit trail has the before/after values."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=20, choices=ComplaintEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class ComplaintEscalation(models.Model):
    """A complaint whose first-response deadline was missed, escalated to the managers."""

    complaint = models.OneToOneField(
        "complaints.Complaint",
        verbose_name=_("complaint"),
        on_delete=models.CASCADE,
        related_name="escalation",
    )
    deadline = models.DateTimeField(_("first-response deadline"))
    escalated_at = models.DateTimeField(_("escalated at"))

    class Meta:
        verbose_name = _("complaint escalation")
        verbose_name_plural = _("complaint escalations")
        ordering = ["-escalated_at"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.escalated_at:%Y-%m-%d %H:%M}"
