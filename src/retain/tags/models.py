from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TagGroupKind(models.TextChoices):
    INDUSTRY = "industry", _("Industry")
    NEED = "need", _("Need")
    BEHAVIOUR = "behaviour", _("Behaviour")
    CUSTOM = "custom", _("Custom")


class TagGroup(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=TagGroupKind.choices)

    class Meta:
        verbose_name = _("tag group")
        verbose_name_plural = _("tag groups")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    group = models.ForeignKey(
        TagGroup, verbose_name=_("group"), on_delete=models.PROTECT, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=100)
    automatic = models.BooleanField(
        _("automatic"), default=False, help_text=_("Set by scoring rules, not by hand.")
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    retired = models.BooleanField(
        _("retired"),
        default=False,
        db_default=False,  # bulk writers insert without it
        help_text=_("Kept on the customers who have it, but no longer given."),
    )

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["group", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="tag_unique_in_group")
        ]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    """A tag on a customer: who (or which rule) tagged it and when."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="customer_tags",
    )
    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), on_delete=models.CASCADE, related_name="customer_tags"
    )
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tagged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    automatic = models.BooleanField(_("automatic"), default=False)
    tagged_at = models.DateTimeField(_("tagged at"))

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="tag_once_per_customer")
        ]
        indexes = [models.Index(fields=["tag", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"
