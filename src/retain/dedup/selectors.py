"""Reads of data cleaning: candidate pairs, merges, and the data-quality report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from retain.customers.models import Consent, Contact, Customer
from retain.dedup.models import DuplicatePair, DuplicateScan, MergeRecord, PairStatus
from retain.imports.values import CellError, parse_email, parse_phone
from retain.interactions.models import FollowUp

#: Customer fields whose completeness the report measures: (field, label, persons only).
COMPLETENESS_FIELDS = (
    ("industry", _("industry"), False),
    ("source", _("source"), False),
    ("first_contact_date", _("first contact date"), False),
    ("key_needs", _("key needs"), False),
    ("owner", _("owner"), False),
    ("region", _("region"), False),
    ("city", _("city"), False),
    ("phone", _("phone"), True),
    ("email", _("email"), True),
    ("gender", _("gender"), True),
    ("age_band", _("age band"), True),
)


def duplicate_scan_queued() -> DuplicateScan | None:
    """The full scan queued from the duplicates page and not finished yet (queued while
    ``searched`` is 0, running after), or None."""
    return (
        DuplicateScan.objects.filter(finished_at__isnull=True, queued_at__isnull=False)
        .order_by("-id")
        .first()
    )


def duplicate_pairs_open() -> QuerySet[DuplicatePair]:
    return DuplicatePair.objects.filter(status=PairStatus.OPEN).select_related("left", "right")


def merges_recent(*, now: dt.datetime, days: int = 30) -> QuerySet[MergeRecord]:
    return MergeRecord.objects.filter(merged_at__gte=now - dt.timedelta(days=days)).select_related(
        "survivor", "merged_by", "undone_by"
    )


@dataclass
class Completeness:
    field: str
    label: str
    filled: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.filled / self.total, 1) if self.total else 100.0


@dataclass
class BadValue:
    customer_code: str
    where: str  # "customer" or the contact's name
    field: str
    value: str
    reason: str


@dataclass
class QualityReport:
    as_of: dt.date
    stale_months: int
    customers: int
    completeness: list[Completeness] = field(default_factory=list)
    stale: int = 0
    stale_sample: list[Customer] = field(default_factory=list)
    contacts_left: int = 0
    customers_without_active_contact: int = 0
    missing_consent: int = 0
    invalid: list[BadValue] = field(default_factory=list)

    @property
    def invalid_phones(self) -> int:
        return sum(1 for b in self.invalid if b.field == "phone")

    @property
    def invalid_emails(self) -> int:
        return sum(1 for b in self.invalid if b.field == "email")


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def data_quality(*, as_of: dt.date, stale_months: int = 12, sample: int = 50) -> QualityReport:
    """Completeness per field, stale records, contacts who left, missing consent and
    invalid phones and emails, as of ``as_of``."""
    customers = Customer.objects.all()
    total = customers.count()
    persons = customers.filter(kind="person").count()
    aggregates = {}
    for name, _label, person_only in COMPLETENESS_FIELDS:
        f = cast(models.Field, Customer._meta.get_field(name))
        filled = Q(**{f"{f.attname}__isnull": False})
        if not f.is_relation and not f.null:
            filled = ~Q(**{name: ""})
        elif not f.is_relation:
            filled = Q(**{f"{name}__isnull": False})
        if person_only:
            filled &= Q(kind="person")
        aggregates[name] = Count("pk", filter=filled)
    counts = customers.aggregate(**aggregates) if total else {n: 0 for n in aggregates}
    report = QualityReport(as_of=as_of, stale_months=stale_months, customers=total)
    for name, label, person_only in COMPLETENESS_FIELDS:
        report.completeness.append(
            Completeness(name, str(label), counts[name], persons if person_only else total)
        )
    cutoff = _months_before(as_of, stale_months)
    recent = FollowUp.objects.filter(customer=OuterRef("pk"), occurred_at__date__gte=cutoff)
    stale = customers.filter(updated_at__date__lt=cutoff).exclude(Exists(recent))
    report.stale = stale.count()
    report.stale_sample = list(stale.order_by("updated_at", "code")[:sample])
    contacts = Contact.objects.all()
    # A leaving date still ahead (notice given) is not gone yet: active until that day.
    still_here = Q(left_on__isnull=True) | Q(left_on__gt=as_of)
    report.contacts_left = contacts.filter(left_on__lte=as_of).count()
    active = Contact.objects.filter(still_here, customer=OuterRef("pk"))
    report.customers_without_active_contact = (
        customers.filter(kind="company").exclude(Exists(active)).count()
    )
    consent = Consent.objects.filter(customer=OuterRef("pk"))
    report.missing_consent = customers.exclude(Exists(consent)).count()
    for code, phone, email in customers.values_list("code", "phone", "email").iterator():
        _check(report, code, "customer", phone, email)
    for code, name, phone, email in (
        contacts.filter(still_here)
        .values_list("customer__code", "name", "phone", "email")
        .iterator()
    ):
        _check(report, code, name, phone, email)
    return report


def _check(report: QualityReport, code: str, where: str, phone: str, email: str) -> None:
    for name, value, parse in (("phone", phone, parse_phone), ("email", email, parse_email)):
        if not value:
            continue
        try:
            parse(value)
        except CellError as exc:
            report.invalid.append(BadValue(code, where, name, value, str(exc)))
