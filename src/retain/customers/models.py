from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    PERSON = "person", _("Person")


class CustomerStatus(models.TextChoices):
    """当前状态 of the seed's customer information sheet."""

    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    CORE = "core", _("Core")
    SILENT = "silent", _("Silent")
    CHURNED = "churned", _("Churned")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class AgeBand(models.TextChoices):
    UNDER_25 = "<25", _("Under 25")
    AGE_25_34 = "25-34", "25-34"
    AGE_35_44 = "35-44", "35-44"
    AGE_45_54 = "45-54", "45-54"
    AGE_55_PLUS = "55+", _("55 and over")


class Channel(models.TextChoices):
    """Channels a customer can consent to be contacted on."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")


class CustomerSource(models.Model):
    """客户来源: where a customer came from. The list is editable in the back office."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("customer source")
        verbose_name_plural = _("customer sources")
        ordering = ["name"]

    def __str__(self) -> str:
        # Shown in the interface language: the Chinese name where one is given.
        if self.name_zh and get_language().startswith("zh"):
            return self.name_zh
        return self.name


class Customer(models.Model):
    code = models.CharField(_("customer code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=CustomerKind.choices)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    source = models.ForeignKey(
        CustomerSource,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    first_contact_date = models.DateField(_("first contact date"), null=True, blank=True)
    status = models.CharField(
        _("current status"),
        max_length=20,
        choices=CustomerStatus.choices,
        default=CustomerStatus.PROSPECT,
    )
    key_needs = models.CharField(_("key needs"), max_length=500, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    # Persons only.
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    age_band = models.CharField(_("age band"), max_length=10, choices=AgeBand.choices, blank=True)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    # Contact points of a person (a company's live on its contacts).
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["owner", "code"]),
            models.Index(fields=["region", "city"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat id"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    left_on = models.DateField(
        _("left on"), null=True, blank=True, help_text=_("Set when the contact left the company.")
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_primary=True),
                name="one_primary_contact_per_customer",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.left_on is None


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Consent(models.Model):
    """A customer's marketing consent on one channel, with when and how it was given."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    recorded_at = models.DateTimeField(_("recorded at"))
    source = models.CharField(
        _("source"), max_length=100, help_text=_("How consent was given, e.g. signup form.")
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="one_consent_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.status}"


class CodeSequence(models.Model):
    """Last number used per code prefix, so generated customer codes never collide."""

    prefix = models.CharField(max_length=16, unique=True)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("code sequence")
        verbose_name_plural = _("code sequences")

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"


class StatusChange(models.Model):
    """A change of a customer's current status (潜在客户 → 核心客户 …): who, when and why."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=CustomerStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=CustomerStatus.choices)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_status} → {self.to_status}"
