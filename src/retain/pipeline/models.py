"""The state of the nightly run: the outcome of each step, kept for the status page."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StepName(models.TextChoices):
    """The steps of the nightly run, in the order they run."""

    SCORES = "scores", _("Scores, history, monthly KPIs and automatic tags")
    BOARD = "board", _("Board trend and cohorts")
    TASKS = "tasks", _("Playbook tasks")
    ALERTS = "alerts", _("Churn alerts")
    CARE = "care", _("Care messages")
    COMPLAINTS = "complaints", _("Complaint deadlines")
    LOYALTY = "loyalty", _("Loyalty: points, expiry, referrals, tiers")


class StepOutcome(models.TextChoices):
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class PipelineStep(models.Model):
    """One row per step: how it went the last time it ran, and its last failure."""

    name = models.CharField(_("step"), max_length=20, choices=StepName.choices, unique=True)
    as_of = models.DateField(_("as of"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=StepOutcome.choices)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error of the last run"), blank=True)
    failed_at = models.DateTimeField(_("last failed at"), null=True, blank=True)
    last_error = models.TextField(_("last failure"), blank=True)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("nightly step")
        verbose_name_plural = _("nightly steps")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.outcome}"


class WorkerBeat(models.Model):
    """The job worker's heartbeat: a running worker touches its row every few seconds."""

    name = models.CharField(_("worker"), max_length=100, unique=True)
    beat_at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    RETRIED = "retried", _("Queued again")
    FAILED = "failed", _("Failed: its worker stopped")


class WorkerJob(models.Model):
    """A job a worker has started and not yet finished (Huey drops a job its worker dies with).

    The row is written when a worker starts a job and deleted when the job ends (done, failed
    by its own error, or retried by Huey). A row left ``running`` by a worker that is gone is
    queued again once, then marked failed, and stays on the admin page (Admin → Nightly run).
    """

    task_id = models.CharField(_("job id"), max_length=64, unique=True)
    name = models.CharField(_("job"), max_length=200)
    data = models.BinaryField(_("job data"))
    host = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.RUNNING
    )
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job lost by a worker")
        verbose_name_plural = _("jobs lost by a worker")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.status}"
