from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PairStatus(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicatePair(models.Model):
    """Two customers that may be one, with the score and the evidence the matcher saw."""

    left = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    right = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("possible duplicate"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    score = models.FloatField(_("match probability"))
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    found_at = models.DateTimeField(_("found at"))
    status = models.CharField(
        _("status"), max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN
    )

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="duplicate_pair_once")
        ]

    def __str__(self) -> str:
        return f"{self.left_id}~{self.right_id} {self.score:.2f}"

    def evidence_lines(self) -> list[str]:
        from retain.dedup.matching import evidence_lines

        return evidence_lines(self.evidence)


class MergeRecord(models.Model):
    """A merge of ``loser`` into ``survivor``, with all it takes to undo it."""

    survivor = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("surviving customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    loser_id = models.BigIntegerField(_("merged customer id"))
    loser_code = models.CharField(_("merged customer code"), max_length=32)
    loser_name = models.CharField(_("merged customer name"), max_length=200)
    # Every field of the merged customer as it was, to recreate it on undo.
    loser_snapshot = models.JSONField(_("merged customer"))
    # The survivor's values of the fields the merge changed.
    survivor_before = models.JSONField(_("survivor before"), default=dict, blank=True)
    # {"app_label.model": [ids]} of rows moved from the loser to the survivor.
    moved = models.JSONField(_("moved rows"), default=dict, blank=True)
    # {"app_label.model": [row snapshots]} of rows deleted because the survivor had one already.
    dropped = models.JSONField(_("dropped rows"), default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged at"))
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.loser_code} → {self.survivor_id}"


class MatchKey(models.Model):
    """A blocking key of a customer ("n:<name core>", "p:<phone>", …): the index through which
    the search after an import finds the few customers worth comparing with the new ones."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("match key")
        verbose_name_plural = _("match keys")
        indexes = [
            models.Index(fields=["key"], name="dedup_matchkey_key"),
            models.Index(fields=["customer"], name="dedup_matchkey_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.key}"


class MatchState(models.Model):
    """When a customer was last searched: the ``updated_at`` it had then, and the full scan
    that last covered it. A customer whose ``updated_at`` differs is new or changed."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    updated_at = models.DateTimeField()
    scan = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("match state")
        verbose_name_plural = _("match states")

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.updated_at:%Y-%m-%d %H:%M:%S}"


class DuplicateScan(models.Model):
    """A full duplicate scan; an unfinished one is resumed where it stopped."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    searched = models.PositiveIntegerField(_("customers searched"), default=0)
    queued_at = models.DateTimeField(
        _("queued at"),
        null=True,
        blank=True,
        help_text=_("When it was queued on the job worker from the duplicates page."),
    )

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"scan {self.pk} from {self.started_at:%Y-%m-%d %H:%M}"
