"""Care messages: birthday and holiday greetings, sent only to contacts who consented."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from zhdate import ZhDate

from retain.care.contact_policy import quiet_until
from retain.care.models import CareChannel, CareTemplate, Delivery, DeliveryStatus, Occasion
from retain.care.templating import TemplateInvalid, template_compile, template_context
from retain.customers.models import Consent, ConsentStatus, Contact, Customer, CustomerKind
from retain.customers.services import consent_set

UNSUBSCRIBE_SALT = "retain.care.unsubscribe"
#: The consent channel each care channel needs (a webhook posts to a WeChat-style bot).
CONSENT_OF = {CareChannel.EMAIL: "email", CareChannel.WEBHOOK: "wechat"}

# --------------------------------------------------------------------------- holidays

#: Lunar (month, day) of the lunar holidays.
LUNAR = {
    Occasion.SPRING_FESTIVAL: (1, 1),
    Occasion.LANTERN: (1, 15),
    Occasion.DRAGON_BOAT: (5, 5),
    Occasion.MID_AUTUMN: (8, 15),
}
SOLAR = {Occasion.NEW_YEAR: (1, 1), Occasion.NATIONAL_DAY: (10, 1)}


def holiday_date(occasion: str, year: int) -> dt.date | None:
    """The Gregorian date of a holiday in ``year`` (lunar holidays by the lunar calendar)."""
    if occasion in LUNAR:
        month, day = LUNAR[Occasion(occasion)]
        return ZhDate(year, month, day).to_datetime().date()
    if occasion in SOLAR:
        month, day = SOLAR[Occasion(occasion)]
        return dt.date(year, month, day)
    return None


def _occurs_on(template: CareTemplate, on: dt.date) -> bool:
    if template.occasion in (Occasion.BIRTHDAY, Occasion.ANNIVERSARY):
        return True  # per recipient
    if template.occasion == Occasion.CUSTOM:
        return (template.custom_month, template.custom_day) == (on.month, on.day)
    return holiday_date(template.occasion, on.year) == on


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    error: str = ""


class Channel(Protocol):
    def send(self, delivery: Delivery) -> DeliveryResult: ...


class EmailChannel:
    """Django e-mail (SMTP from RETAIN_EMAIL_HOST / PORT / FROM)."""

    def send(self, delivery: Delivery) -> DeliveryResult:
        message = EmailMessage(
            delivery.subject, delivery.body, settings.DEFAULT_FROM_EMAIL, [delivery.address]
        )
        try:
            message.send()
        except OSError as exc:  # connection refused, timeouts, SMTP errors
            return DeliveryResult(False, f"{type(exc).__name__}: {exc}")
        return DeliveryResult(True)


class WebhookChannel:
    """POST the message as JSON to the template's URL."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def send(self, delivery: Delivery) -> DeliveryResult:
        payload = json.dumps(
            {
                "to": delivery.address,
                "subject": delivery.subject,
                "text": delivery.body,
                "customer": delivery.customer.code,
                "delivery": delivery.pk,
                # the gateway calls this when it learns the message was read
                "opened_url": delivery_opened_url(delivery_id=delivery.pk),
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(
            delivery.source.webhook_url,
            data=payload,
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    return DeliveryResult(False, f"HTTP {response.status}")
        except OSError as exc:
            return DeliveryResult(False, f"{type(exc).__name__}: {exc}")
        return DeliveryResult(True)


def channel_for(name: str) -> Channel:
    return WebhookChannel() if name == CareChannel.WEBHOOK else EmailChannel()


# --------------------------------------------------------------------------- unsubscribe


def unsubscribe_token(*, customer_id: int, channel: str) -> str:
    return signing.dumps({"c": customer_id, "ch": channel}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, customer_id: int, channel: str) -> str:
    base = str(settings.RETAIN_BASE_URL).rstrip("/")
    token = unsubscribe_token(customer_id=customer_id, channel=channel)
    return base + reverse("care-unsubscribe", args=[token])


def unsubscribe_read(token: str) -> tuple[Customer, str]:
    """The customer and channel of a token; ``signing.BadSignature`` when forged."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return Customer.objects.get(pk=data["c"]), str(data["ch"])


@transaction.atomic
def unsubscribe_confirm(
    *, token: str, now: dt.datetime | None = None, request: Any = None
) -> Customer:
    """Withdraw the consent a greeting's unsubscribe link stands for (audited, no actor)."""
    customer, channel = unsubscribe_read(token)
    consent_set(
        customer=customer,
        channel=channel,
        granted=False,
        source="unsubscribe link",
        at=now,
        request=request,
    )
    return customer


# --------------------------------------------------------------------------- preparing, sending


@dataclass
class CareResult:
    prepared: int = 0
    without_consent: int = 0
    #: recipients skipped because they reached the frequency cap
    capped: int = 0
    #: recipients in the control group of the plan the greeting belongs to
    held_out: int = 0
    #: "template name: line N: reason" of each template skipped because it is broken
    broken: list[str] = field(default_factory=list)


def _recipients(
    template: CareTemplate, on: dt.date
) -> list[tuple[Customer, Contact | None, str, str]]:
    """(customer, contact, address, name) for the greeting on ``on``; only consenting ones."""
    consent = CONSENT_OF[CareChannel(template.channel)]
    granted = Consent.objects.filter(channel=consent, status=ConsentStatus.GRANTED).values(
        "customer_id"
    )
    birthday = template.occasion == Occasion.BIRTHDAY
    people = (
        Customer.objects.filter(kind=CustomerKind.PERSON).exclude(email="").select_related("owner")
    )
    contacts = (
        Contact.objects.filter(left_on__isnull=True)
        .exclude(email="")
        .select_related("customer", "customer__owner")
    )
    if birthday:
        people = people.filter(birthday__month=on.month, birthday__day=on.day)
        contacts = contacts.filter(birthday__month=on.month, birthday__day=on.day)
    else:
        contacts = contacts.filter(is_primary=True)
    if template.occasion == Occasion.ANNIVERSARY:
        # a whole number of years since the first contact, to the day
        since = Q(
            first_contact_date__month=on.month,
            first_contact_date__day=on.day,
            first_contact_date__year__lt=on.year,
        )
        people = people.filter(since)
        contacts = contacts.filter(customer__in=Customer.objects.filter(since))
    out: list[tuple[Customer, Contact | None, str, str]] = []
    for c in people.filter(id__in=granted).order_by("id"):
        out.append((c, None, c.email, c.name))
    for k in contacts.filter(customer_id__in=granted).order_by("id"):
        out.append((k.customer, k, k.email, k.name))
    return out


def _consent_missing(template: CareTemplate, on: dt.date) -> int:
    consent = CONSENT_OF[CareChannel(template.channel)]
    granted = Consent.objects.filter(channel=consent, status=ConsentStatus.GRANTED).values(
        "customer_id"
    )
    if template.occasion != Occasion.BIRTHDAY:
        return 0
    born = Q(birthday__month=on.month, birthday__day=on.day)
    return (
        Customer.objects.filter(born, kind=CustomerKind.PERSON)
        .exclude(email="")
        .exclude(id__in=granted)
        .count()
        + Contact.objects.filter(born, left_on__isnull=True)
        .exclude(email="")
        .exclude(customer_id__in=granted)
        .count()
    )


@transaction.atomic
def care_messages_prepare(*, on: dt.date, now: dt.datetime) -> CareResult:
    """Render today's greetings into the delivery log (once per address and day) and queue
    them; in quiet hours they wait until the quiet hours end."""
    result = CareResult()
    send_after = quiet_until(now) or now
    new: list[Delivery] = []
    for template in CareTemplate.objects.filter(active=True).order_by("id"):
        if not _occurs_on(template, on):
            continue
        result.without_consent += _consent_missing(template, on)
        done = set(
            Delivery.objects.filter(template=template, on=on).values_list("address", flat=True)
        )
        # A broken template (saved before validation existed) is reported and skipped:
        # it never stops the daily run or the other greetings.
        try:
            subject_t, body_t = template_compile(template.subject), template_compile(template.body)
        except TemplateInvalid as exc:
            result.broken.append(f"{template.name}: {exc}")
            continue
        members = _segment_members(template.segment)
        capped = _capped(now)
        held = _held_out(template.playbook_id)
        for customer, contact, address, name in _recipients(template, on):
            if address in done or (members is not None and customer.pk not in members):
                continue
            if customer.pk in held:
                result.held_out += 1
                continue
            if customer.pk in capped:
                result.capped += 1
                continue
            done.add(address)
            context = template_context(
                customer=customer,
                name=name,
                today=on,
                unsubscribe_url=unsubscribe_url(
                    customer_id=customer.pk, channel=CONSENT_OF[CareChannel(template.channel)]
                ),
            )
            new.append(
                Delivery(
                    template=template,
                    customer=customer,
                    contact=contact,
                    on=on,
                    address=address,
                    subject=subject_t.render(context),
                    body=body_t.render(context),
                    send_after=send_after,
                )
            )
    Delivery.objects.bulk_create(new)
    result.prepared = len(new)
    ids = list(
        Delivery.objects.filter(on=on, status=DeliveryStatus.PENDING, attempts=0).values_list(
            "id", flat=True
        )
    )
    if ids:
        from retain.care.tasks import delivery_send_job

        eta = send_after if send_after > now else None

        def enqueue() -> None:
            for pk in ids:
                if eta is not None:
                    delivery_send_job.schedule(kwargs={"delivery_id": pk}, eta=eta)
                else:
                    delivery_send_job(delivery_id=pk)

        transaction.on_commit(enqueue)
    return result


class DeliveryFailed(RuntimeError):
    """Raised so that the worker retries the delivery."""


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    """Send one greeting and log the attempt; raises ``DeliveryFailed`` on failure."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("template", "campaign", "customer")
            .get(pk=delivery_id)
        )
        if delivery.status == DeliveryStatus.SENT:
            return delivery
        consent = CONSENT_OF[CareChannel(delivery.source.channel)]
        still = Consent.objects.filter(
            customer=delivery.customer, channel=consent, status=ConsentStatus.GRANTED
        ).exists()
        if not still:  # withdrawn since the greeting was prepared
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "consent withdrawn"
            delivery.save(update_fields=["status", "last_error"])
            return delivery
        # a message of a plan: the customer may have been drawn into its control group, or
        # left its target (or the message's segment), since it was queued
        skipped = _send_refusal(delivery)
        if skipped:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = skipped
            delivery.save(update_fields=["status", "last_error"])
            return delivery
        outcome = channel_for(delivery.source.channel).send(delivery)
        delivery.attempts += 1
        if outcome.ok:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.last_error = ""
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = outcome.error[:2000]
        delivery.save(update_fields=["status", "attempts", "sent_at", "last_error"])
    if not outcome.ok:
        raise DeliveryFailed(outcome.error)
    return delivery


# --------------------------------------------------------------------------- campaigns

#: At most this many messages (care and campaigns, not failed) per customer within this many
#: days: the frequency cap.
FREQUENCY_CAP = (2, 7)


def _capped(now: dt.datetime) -> set[int]:
    """Customers who reached the frequency cap in the window ending ``now``."""
    from django.db.models import Count

    limit, days = FREQUENCY_CAP
    return set(
        Delivery.objects.filter(send_after__gt=now - dt.timedelta(days=days))
        .exclude(status=DeliveryStatus.FAILED)
        .values("customer_id")
        .annotate(n=Count("id"))
        .filter(n__gte=limit)
        .values_list("customer_id", flat=True)
    )


def _held_out(playbook_id: int | None) -> set[int]:
    """The control group of the plan a message belongs to: they get nothing from it."""
    if playbook_id is None:
        return set()
    from retain.playbooks.assignment import holdout_customers

    return holdout_customers(playbook_id=playbook_id)


def _send_refusal(delivery: Delivery) -> str:
    """Why a queued message may no longer go out ("" when it may): the plan's check
    (``plan_send_refusal``), then the message's own segment, which the customer may have
    left since the message was prepared."""
    from retain.playbooks.assignment import SKIPPED_LEFT, plan_send_refusal
    from retain.playbooks.conditions import conditions_q

    source = delivery.source
    if source is None:
        return ""
    refusal = plan_send_refusal(playbook_id=source.playbook_id, customer_id=delivery.customer_id)
    segment = source.segment
    if refusal or source.playbook_id is None or segment is None:
        return refusal
    still = Customer.objects.filter(
        conditions_q(segment.conditions), pk=delivery.customer_id
    ).exists()
    return "" if still else SKIPPED_LEFT


def _segment_members(segment: Any) -> set[int] | None:
    """The customer ids of a saved segment, or None for "no segment: everyone"."""
    if segment is None:
        return None
    from retain.playbooks.conditions import conditions_q

    return set(
        Customer.objects.filter(conditions_q(segment.conditions)).values_list("id", flat=True)
    )


def campaign_recipients(campaign: Any) -> list[tuple[Customer, Contact | None, str, str]]:
    """(customer, contact, address, name) of each consenting member of the campaign's segment:
    a person's own address, else the primary contact's (e-mail for the e-mail channel, the
    mobile number for the webhook channel, which reaches SMS / WeChat gateways)."""
    channel = CareChannel(campaign.channel)
    consent = CONSENT_OF[channel]
    members = _segment_members(campaign.segment) or set()
    granted = set(
        Consent.objects.filter(
            channel=consent, status=ConsentStatus.GRANTED, customer_id__in=members
        ).values_list("customer_id", flat=True)
    )
    field_name = "email" if channel == CareChannel.EMAIL else "phone"
    primary = {
        k.customer_id: k
        for k in Contact.objects.filter(
            customer_id__in=granted, is_primary=True, left_on__isnull=True
        )
    }
    out: list[tuple[Customer, Contact | None, str, str]] = []
    for customer in Customer.objects.filter(pk__in=granted).select_related("owner").order_by("id"):
        own = getattr(customer, field_name, "") if customer.kind == CustomerKind.PERSON else ""
        contact = primary.get(customer.pk)
        if own:
            out.append((customer, None, own, customer.name))
        elif contact is not None and getattr(contact, field_name):
            out.append((customer, contact, getattr(contact, field_name), contact.name))
    return out


@dataclass
class CampaignSendResult:
    campaigns: int = 0
    prepared: int = 0
    capped: int = 0
    held_out: int = 0


@transaction.atomic
def campaigns_send_due(*, now: dt.datetime) -> CampaignSendResult:
    """Prepare the messages of every scheduled campaign whose time has come: one per
    consenting member (frequency cap and quiet hours respected), each member recorded as a
    participant (the customer's timeline shows it), then queue them for sending."""
    from retain.campaigns.models import Campaign, CampaignParticipation, CampaignStatus

    result = CampaignSendResult()
    send_after = quiet_until(now) or now
    due = list(
        Campaign.objects.select_for_update(of=("self",))
        .filter(status=CampaignStatus.SCHEDULED, send_at__lte=now)
        .select_related("segment")
        .order_by("send_at", "id")
    )
    ids: list[int] = []
    for campaign in due:
        subject_t, body_t = template_compile(campaign.subject), template_compile(campaign.body)
        capped = _capped(now)
        consent = CONSENT_OF[CareChannel(campaign.channel)]
        new: list[Delivery] = []
        seen: set[str] = set()
        joined: list[CampaignParticipation] = []
        held = _held_out(campaign.playbook_id)
        for customer, contact, address, name in campaign_recipients(campaign):
            if address in seen:
                continue
            if customer.pk in held:
                result.held_out += 1
                continue
            if customer.pk in capped:
                result.capped += 1
                continue
            seen.add(address)
            context = template_context(
                customer=customer,
                name=name,
                today=timezone.localdate(now),
                unsubscribe_url=unsubscribe_url(customer_id=customer.pk, channel=consent),
            )
            new.append(
                Delivery(
                    campaign=campaign,
                    customer=customer,
                    contact=contact,
                    on=timezone.localdate(now),
                    address=address,
                    subject=subject_t.render(context),
                    body=body_t.render(context),
                    send_after=send_after,
                )
            )
            joined.append(
                CampaignParticipation(campaign=campaign, customer=customer, joined_at=now)
            )
        Delivery.objects.bulk_create(new)
        CampaignParticipation.objects.bulk_create(joined, ignore_conflicts=True)
        campaign.status = CampaignStatus.SENT
        campaign.save(update_fields=["status"])
        ids += list(
            Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING).values_list(
                "id", flat=True
            )
        )
        result.campaigns += 1
        result.prepared += len(new)
    if ids:
        from retain.care.tasks import delivery_send_job

        eta = send_after if send_after > now else None

        def enqueue() -> None:
            for pk in ids:
                if eta is not None:
                    delivery_send_job.schedule(kwargs={"delivery_id": pk}, eta=eta)
                else:
                    delivery_send_job(delivery_id=pk)

        transaction.on_commit(enqueue)
    return result


OPENED_SALT = "retain.care.opened"


def delivery_opened_url(*, delivery_id: int) -> str:
    base = getattr(settings, "RETAIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    token = signing.dumps(delivery_id, salt=OPENED_SALT)
    return base + reverse("care-opened", args=[token])


def delivery_opened(*, token: str, now: dt.datetime | None = None) -> Delivery:
    """Record that the channel reported the message read (first report counts)."""
    pk = signing.loads(token, salt=OPENED_SALT)
    delivery = Delivery.objects.get(pk=pk)
    if delivery.opened_at is None:
        delivery.opened_at = now or timezone.now()
        delivery.save(update_fields=["opened_at"])
    return delivery


#: The fields ``care_template_save`` takes.
CARE_TEMPLATE_FIELDS = (
    "name",
    "occasion",
    "custom_month",
    "custom_day",
    "channel",
    "webhook_url",
    "subject",
    "body",
    "active",
    "segment",
    "playbook",
)


@transaction.atomic
def care_template_save(
    *, template: CareTemplate | None, fields: dict[str, Any], actor: Any, request: Any = None
) -> CareTemplate:
    """Create or change a care message (validated: each template problem with its line).
    Audited."""
    from retain.accounts.access import require
    from retain.audit.services import audit_event, snapshot

    require(actor, "care.change_caretemplate" if template else "care.add_caretemplate")
    before = snapshot(template) if template is not None else None
    template = template or CareTemplate()
    for name in CARE_TEMPLATE_FIELDS:
        if name in fields:
            setattr(template, name, fields[name])
    template.full_clean()
    template.save()
    audit_event(
        actor=actor,
        action="update" if before else "create",
        obj=template,
        before=before,
        after=snapshot(template),
        request=request,
    )
    return template
