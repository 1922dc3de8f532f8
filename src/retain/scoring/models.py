from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from retain.orders.models import SalesChannel


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ChurnModelVersion(models.Model):
    """One trained churn model: what it learned from, its back-test, and the model itself.

    A scoring run trains a new version only when the order data changed since the newest one
    (``data_fingerprint``); otherwise it reuses that one.
    """

    trained_at = models.DateTimeField(_("trained at"))
    as_of = models.DateField(_("trained as of"))
    data_fingerprint = models.CharField(_("data fingerprint"), max_length=64, db_index=True)
    kind = models.CharField(_("model"), max_length=20)
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    fallback_reason = models.TextField(_("fallback reason"), blank=True)
    description = models.JSONField(_("description"), default=dict)
    backtest = models.JSONField(_("back-test"), null=True, blank=True)
    model = models.BinaryField(_("model"))

    class Meta:
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"v{self.pk} {self.kind} {self.as_of}"


class ScoringRun(models.Model):
    """One run of the engine over the app's data: its state row and what it wrote.

    At most one run is ``running`` at a time (a partial unique constraint is the lock).
    """

    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    changes = models.PositiveIntegerField(_("segment changes"), default=0)
    tags_added = models.PositiveIntegerField(_("automatic tags added"), default=0)
    tags_removed = models.PositiveIntegerField(_("automatic tags removed"), default=0)
    error = models.TextField(_("error"), blank=True)
    churn_model = models.ForeignKey(
        ChurnModelVersion,
        verbose_name=_("churn model"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
    )
    # Who runs it and when it last showed life (retain.pipeline.heartbeat).
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    host = models.CharField(_("host"), max_length=100, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running"),
                name="one_scoring_run_at_a_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.as_of} {self.status}"


class CustomerScore(models.Model):
    """A customer's current scores (one row per customer, replaced by every run)."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="score",
        primary_key=True,
    )
    run = models.ForeignKey(
        ScoringRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="+"
    )
    as_of = models.DateField(_("as of"))
    quadrant = models.CharField(_("quadrant"), max_length=20, blank=True, db_index=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, db_index=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=40, blank=True)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    value_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    activity_level = models.CharField(_("activity level"), max_length=10, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spend = models.FloatField(_("total spend"), default=0.0)
    recency_days = models.PositiveIntegerField(_("days since last purchase"), null=True)
    last_purchase = models.DateField(_("last purchase"), null=True, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    predicted_ltv = models.FloatField(_("predicted lifetime value"), null=True, blank=True)
    expected_purchases_90d = models.FloatField(
        _("expected purchases in 90 days"), null=True, blank=True
    )
    open_complaints = models.PositiveIntegerField(_("open complaints"), default=0)
    recent_complaints = models.PositiveIntegerField(_("recent complaints"), default=0)
    last_nps = models.PositiveSmallIntegerField(_("last NPS answer"), null=True, blank=True)
    churn_risk = models.CharField(_("churn risk"), max_length=10, blank=True, db_index=True)
    risk_reasons = models.TextField(_("risk reasons"), blank=True)
    # The engine's churn probability (no purchase in the model's horizon), the value at stake
    # (lifetime value x probability), which model gave it, and the reasons as codes with
    # parameters ([{"code": "overdue", "params": {"multiple": 3.2}}, ...]).
    churn_probability = models.FloatField(_("churn probability"), null=True, blank=True)
    expected_lost_value = models.FloatField(_("expected lost value"), null=True, blank=True)
    churn_model = models.CharField(_("churn model"), max_length=10, blank=True)
    reason_codes = models.JSONField(_("reason codes"), default=list, blank=True)
    # What the value tier and the activity level were computed from (the explanation shows it).
    value_spend = models.FloatField(_("spend in the value window"), default=0.0)
    activity_orders = models.PositiveIntegerField(_("orders in the activity window"), default=0)
    # The channel and the product category of most of the customer's purchases.
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=SalesChannel.choices, blank=True
    )
    preferred_category = models.CharField(_("preferred category"), max_length=100, blank=True)
    # The state before this as_of, kept so that a re-run for the same as_of finds the same
    # changes (and so the same win-back alerts).
    previous_as_of = models.DateField(_("previous as of"), null=True, blank=True)
    previous_quadrant = models.CharField(_("previous quadrant"), max_length=20, blank=True)
    previous_lifecycle_stage = models.CharField(
        _("previous lifecycle stage"), max_length=20, blank=True
    )
    previous_churn_risk = models.CharField(_("previous churn risk"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        # and an index on predicted_ltv DESC NULLS LAST: migration 0007 (by database)

    def __str__(self) -> str:
        return f"{self.customer_id} {self.quadrant} {self.churn_risk}"


class Dimension(models.TextChoices):
    QUADRANT = "quadrant", _("Quadrant")
    LIFECYCLE = "lifecycle_stage", _("Lifecycle stage")
    RISK = "churn_risk", _("Churn risk")


class SegmentChange(models.Model):
    """History: "moved from core to potential on 2026-03-01"."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="segment_changes",
    )
    as_of = models.DateField(_("as of"))
    dimension = models.CharField(_("dimension"), max_length=20, choices=Dimension.choices)
    from_value = models.CharField(_("from"), max_length=40, blank=True)
    to_value = models.CharField(_("to"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("segment change")
        verbose_name_plural = _("segment changes")
        ordering = ["-as_of", "customer_id", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "as_of", "dimension"], name="one_change_per_day_and_dimension"
            )
        ]
        indexes = [models.Index(fields=["as_of", "dimension", "to_value"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.dimension}: {self.from_value} → {self.to_value}"


class KpiSnapshot(models.Model):
    """The KPIs of a month (as of the last run in that month)."""

    month = models.DateField(_("month"), unique=True, help_text=_("First day of the month."))
    as_of = models.DateField(_("as of"))
    figures = models.JSONField(_("figures"))

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class TagRule(models.Model):
    """An automatic tag and the conditions (over the scores) that put it on a customer."""

    tag = models.OneToOneField(
        "tags.Tag", verbose_name=_("tag"), on_delete=models.CASCADE, related_name="rule"
    )
    conditions = models.JSONField(
        _("conditions"),
        help_text=_('e.g. {"all": [{"field": "value_tier", "op": "eq", "value": "high"}]}'),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")
        ordering = ["tag__name"]

    def __str__(self) -> str:
        return str(self.tag)

    def clean(self) -> None:
        from retain.playbooks.conditions import conditions_validate

        conditions_validate(self.conditions)


class UploadStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def _upload_to(upload: ScoresUpload, filename: str) -> str:
    # One folder per upload: the file keeps the name the user gave it, so an error about it
    # names the user's file, not a renamed copy.
    import uuid

    return f"scores/{uuid.uuid4().hex}/{filename}"


class ScoresUpload(models.Model):
    """A scores file of ``retain analyze`` uploaded from a page, loaded by the worker."""

    file = models.FileField(_("file"), upload_to=_upload_to, max_length=255, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    as_of = models.DateField(_("as of"))
    status = models.CharField(
        _("status"), max_length=10, choices=UploadStatus.choices, default=UploadStatus.QUEUED
    )
    step = models.CharField(_("step"), max_length=100, blank=True)  # a msgid, shown translated
    # The uploader's language: the worker writes the file's errors in it.
    language = models.CharField(_("language"), max_length=10, blank=True)
    run = models.ForeignKey(
        ScoringRun,
        verbose_name=_("scoring run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Who runs it and when it last showed life (retain.pipeline.heartbeat).
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    host = models.CharField(_("host"), max_length=100, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)

    class Meta:
        verbose_name = _("scores upload")
        verbose_name_plural = _("scores uploads")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.as_of})"

    @property
    def finished(self) -> bool:
        return self.status in {UploadStatus.DONE, UploadStatus.FAILED}
