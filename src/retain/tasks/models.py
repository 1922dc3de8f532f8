from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskKind(models.TextChoices):
    PLAYBOOK = "playbook", _("Playbook action")
    FOLLOWUP = "followup", _("Next step")
    WINBACK = "winback", _("Win-back")
    SERVICE = "service", _("Service")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WinbackOutcome(models.TextChoices):
    WON_BACK = "won_back", _("Won back")
    LOST = "lost", _("Lost")


class Task(models.Model):
    """A follow-up someone has to do for a customer, and why it exists.

    ``key`` names what made the task ("action:12", "winback:2026-11-01", "survey:5" ...): at
    most one open task per customer and key.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    key = models.CharField(_("key"), max_length=60)
    action = models.ForeignKey(
        "playbooks.PlaybookAction",
        verbose_name=_("playbook action"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    title = models.CharField(_("title"), max_length=200)
    reason = models.TextField(_("why"), blank=True)
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    due_on = models.DateField(_("due on"), db_index=True)
    not_before = models.DateTimeField(
        _("not before"), null=True, blank=True, help_text=_("Set when created in quiet hours.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    followup = models.ForeignKey(
        "interactions.FollowUp",
        verbose_name=_("follow-up"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    logging_delay = models.DurationField(_("logging delay"), null=True, blank=True)
    logged_late = models.BooleanField(_("logged late"), default=False)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=WinbackOutcome.choices, blank=True
    )
    outcome_reason = models.CharField(_("outcome reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "key"],
                condition=models.Q(status="open"),
                name="one_open_task_per_customer_and_key",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_on"]),
            # a plan's open tasks (the playbook list) without reading its done ones
            models.Index(fields=["action", "status"], name="tasks_task_action_status"),
        ]

    def __str__(self) -> str:
        return self.title


class Notification(models.Model):
    """An in-app notice (the bell in the top bar)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    text = models.CharField(_("text"), max_length=300)
    url = models.CharField(_("link"), max_length=300, blank=True)
    task = models.ForeignKey(
        Task, verbose_name=_("task"), null=True, blank=True, on_delete=models.CASCADE
    )
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.text


#: Tasks a person is given per day unless they or their manager set another number.
DEFAULT_DAILY_CAPACITY = 15


class DailyCapacity(models.Model):
    """How many tasks a person works in a day: the size of their daily list, and how the
    daily jobs spread new tasks over the following days."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="daily_capacity",
    )
    tasks_per_day = models.PositiveSmallIntegerField(
        _("tasks per day"),
        default=DEFAULT_DAILY_CAPACITY,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("daily capacity")
        verbose_name_plural = _("daily capacities")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.tasks_per_day}"
