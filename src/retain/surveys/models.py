from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    thank_you_zh = models.TextField(_("thank-you text (Chinese)"), blank=True)
    thank_you_en = models.TextField(_("thank-you text (English)"), blank=True)
    valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=14)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def title(self, language: str) -> str:
        text = self.title_zh if language.startswith("zh") else self.title_en
        return text or self.name

    def thank_you(self, language: str) -> str:
        return self.thank_you_zh if language.startswith("zh") else self.thank_you_en


class SurveyResponse(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="responses"
    )
    sent_at = models.DateTimeField(_("sent at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(
        _("NPS score"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = models.TextField(_("comment"), blank=True)
    effort = models.PositiveSmallIntegerField(
        _("effort score"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
    )
    #: Every answer of the questionnaire by question id: a number, a text or a list of choices.
    answers = models.JSONField(_("answers"), default=dict, blank=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__lte=10), name="nps_0_to_10"
            ),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="satisfaction_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.customer_id}"


class QuestionKind(models.TextChoices):
    NPS = "nps", _("NPS (0-10)")
    CSAT = "csat", _("Satisfaction (1-5)")
    CES = "ces", _("Effort (1-7)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


#: The answer range of each scale question.
SCALES = {QuestionKind.NPS: (0, 10), QuestionKind.CSAT: (1, 5), QuestionKind.CES: (1, 7)}


class SurveyQuestion(models.Model):
    """One question of a survey, in Chinese and English. Choices are one per line."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    text_zh = models.CharField(_("question (Chinese)"), max_length=300)
    text_en = models.CharField(_("question (English)"), max_length=300)
    choices_zh = models.TextField(_("choices (Chinese), one per line"), blank=True)
    choices_en = models.TextField(_("choices (English), one per line"), blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ["survey", "position", "id"]

    def __str__(self) -> str:
        return self.text_en or self.text_zh

    def text(self, language: str) -> str:
        return self.text_zh if language.startswith("zh") else self.text_en

    def choices(self, language: str) -> list[str]:
        raw = self.choices_zh if language.startswith("zh") else self.choices_en
        return [line.strip() for line in raw.splitlines() if line.strip()]


class InvitationChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook (SMS, WeChat, WeCom)")
    LINK = "link", _("Link or QR code (printed, in store)")


class SurveyInvitation(models.Model):
    """One recipient's single-use link. Only the SHA-256 of the token is kept; the answer,
    once given, is attached (unique) so a link can never answer twice."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="invitations"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_invitations",
    )
    # NULL until the link is issued; unique, so NULL (not "") for the many not yet issued
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    channel = models.CharField(_("channel"), max_length=10, choices=InvitationChannel.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    greeting_name = models.CharField(_("greeting name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    #: The event that caused it ("order:12", "schedule:3:2026-11-01:17"): one invitation each.
    event_key = models.CharField(_("event"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"))
    send_after = models.DateTimeField(_("send after"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    response = models.OneToOneField(
        SurveyResponse,
        verbose_name=_("answer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
    )

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "event_key"],
                condition=~models.Q(event_key=""),
                name="one_invitation_per_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.customer_id}"


class SendStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Sending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SurveySend(models.Model):
    """One "send to a segment" from the survey's send page, run as a background job: its
    progress (customers processed of the segment's total) and what became of them."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="sends"
    )
    segment = models.ForeignKey(
        "playbooks.Segment",
        verbose_name=_("segment"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    segment_name = models.CharField(_("segment"), max_length=100)
    channel = models.CharField(_("channel"), max_length=10, choices=InvitationChannel.choices)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("customers in the segment"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    invited = models.PositiveIntegerField(_("invited"), default=0)
    without_consent = models.PositiveIntegerField(_("without consent"), default=0)
    capped = models.PositiveIntegerField(_("asked in the last 30 days"), default=0)
    no_address = models.PositiveIntegerField(_("no address"), default=0)
    #: the last customer (by id) whose batch is done: a run queued again resumes after it
    last_customer_id = models.PositiveBigIntegerField(_("done up to customer"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey send")
        verbose_name_plural = _("survey sends")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.segment_name}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.processed / self.total)


class TriggerEvent(models.TextChoices):
    ORDER_PAID = "order_paid", _("After an order (paid)")
    COMPLAINT_CLOSED = "complaint_closed", _("After a complaint is closed")
    TASK_DONE = "task_done", _("After a task is done")
    SCHEDULE = "schedule", _("On a schedule (to a segment)")


class SurveyTrigger(models.Model):
    """When a survey goes out by itself: some days after an event (an order paid, a
    complaint closed, a task done), or every few months to a segment (the quarterly
    relationship NPS). Run by the hourly job ``survey_triggers``; each event invites once."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="triggers"
    )
    event = models.CharField(_("when"), max_length=20, choices=TriggerEvent.choices)
    delay_days = models.PositiveSmallIntegerField(
        _("days after the event"), default=1, validators=[MaxValueValidator(365)]
    )
    every_months = models.PositiveSmallIntegerField(
        _("every (months)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("For a schedule: 3 is quarterly."),
    )
    segment = models.ForeignKey(
        "playbooks.Segment",
        verbose_name=_("segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who a schedule asks; for an event, only the segment's customers (optional)."),
    )
    channel = models.CharField(
        _("channel"),
        max_length=10,
        choices=[c for c in InvitationChannel.choices if c[0] != InvitationChannel.LINK],
        default=InvitationChannel.EMAIL,
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    active = models.BooleanField(_("active"), default=True)
    next_run_on = models.DateField(_("next run on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("survey trigger")
        verbose_name_plural = _("survey triggers")
        ordering = ["survey", "id"]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.event}"
