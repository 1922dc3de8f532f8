from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from retain.kpis.definitions import Comparison, KpiKey


class KpiTarget(models.Model):
    """The target of one KPI, e.g. yearly retention ≥ 80 (percent for rates)."""

    kpi = models.CharField(_("KPI"), max_length=40, choices=KpiKey.choices, unique=True)
    comparison = models.CharField(_("comparison"), max_length=3, choices=Comparison.choices)
    value = models.FloatField(_("target"), help_text=_("Percent for rates, CNY for values."))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["kpi"]

    def __str__(self) -> str:
        return f"{self.get_kpi_display()} {self.get_comparison_display()} {self.value:g}"

    def met_by(self, actual: float | None) -> bool | None:
        if actual is None:
            return None
        if self.comparison == Comparison.AT_LEAST:
            return actual >= self.value
        return actual <= self.value


class Goal(models.Model):
    """A quantified, time-bound goal: "+15% repurchase in 3 months" (PRODUCT.md section 11)."""

    name = models.CharField(_("name"), max_length=200)
    kpi = models.CharField(_("KPI"), max_length=40, choices=KpiKey.choices)
    change = models.FloatField(
        _("change"), help_text=_("e.g. 15 for +15%, or -1 for one point less.")
    )
    relative = models.BooleanField(
        _("relative change"),
        default=True,
        help_text=_("On: the change is a percentage of the baseline. Off: in the KPI's unit."),
    )
    baseline = models.FloatField(_("baseline"), help_text=_("The KPI when the goal was set."))
    start_on = models.DateField(_("start"))
    end_on = models.DateField(_("end"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["end_on", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start_on and self.end_on and self.end_on <= self.start_on:
            raise ValidationError({"end_on": _("The end must be after the start.")})
        if self.change == 0:
            raise ValidationError({"change": _("A goal needs a change other than zero.")})

    @property
    def target(self) -> float:
        if self.relative:
            return self.baseline * (1 + self.change / 100.0)
        return self.baseline + self.change


class BoardFigures(models.Model):
    """What the board needs beyond the run's snapshot, computed once per scoring run:
    the monthly trend (the engine's KPIs at each month end) and the cohort matrix."""

    run = models.OneToOneField(
        "scoring.ScoringRun",
        verbose_name=_("scoring run"),
        on_delete=models.CASCADE,
        related_name="board_figures",
        primary_key=True,
    )
    computed_at = models.DateTimeField(_("computed at"))
    seconds = models.FloatField(_("seconds"), default=0.0)
    current = models.JSONField(_("current figures"))
    trend = models.JSONField(_("monthly trend"))
    cohorts = models.JSONField(_("cohort matrix"))

    class Meta:
        verbose_name = _("board figures")
        verbose_name_plural = _("board figures")

    def __str__(self) -> str:
        return str(self.run)
