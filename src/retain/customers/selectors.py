from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from retain.accounts.access import personal_search_check, phone_search, shows_personal_data
from retain.complaints.models import Complaint
from retain.customers.models import Contact, Customer
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.surveys.models import SurveyResponse


def customer_list(*, search: str = "", user: Any = None, request: Any = None) -> QuerySet[Customer]:
    """Customers matching ``search`` by code, name (any part), phone or a contact's phone /
    name (any part).

    ``user`` is who searches (None: the system). A role that sees phones masked matches a
    phone only by the masked form it is shown (``138****1234``), never by the hidden digits;
    a search by phone or email is audited and limited per user
    (``access.personal_search_check``, raises ``access.SearchLimited``). The result is not
    yet narrowed to the customers ``user`` sees: wrap it in ``customers_visible_to``.
    """
    qs = Customer.objects.select_related("owner", "source")
    search = search.strip()
    if not search:
        return qs.order_by("code")
    personal_search_check(user, search, request=request)
    # Contacts through a subquery, not a join: no customer is repeated, and the database
    # can walk the code index and stop after a page (a join made it match every row first).
    contact_match = Q(name__icontains=search)
    contact_phone = phone_search(user, search)
    if contact_phone is not None:
        contact_match |= contact_phone
    contacts = Contact.objects.filter(contact_match).values("customer_id")
    match = Q(code__iexact=search) | Q(name__icontains=search) | Q(id__in=contacts)
    customer_phone = phone_search(user, search)
    if customer_phone is not None:
        match |= customer_phone
    if "@" in search and (user is None or shows_personal_data(user)):
        # an email only for roles shown emails in full: no guessing the hidden ones
        match |= Q(email__iexact=search) | Q(
            id__in=Contact.objects.filter(email__iexact=search).values("customer_id")
        )
    return qs.filter(match).order_by("code")


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # order, followup, complaint, survey, campaign, care, task
    title: str
    detail: str
    amount: Decimal | None = None
    status: str = ""


def customer_timeline(*, customer: Customer, limit: int = 200) -> list[TimelineEntry]:
    """One list, newest first, of the customer's orders, follow-ups, complaints and surveys."""
    entries: list[TimelineEntry] = []
    for order in Order.objects.filter(customer=customer).order_by("-ordered_at")[:limit]:
        entries.append(
            TimelineEntry(
                at=order.ordered_at,
                kind="order",
                title=_("Order %(number)s") % {"number": order.number},
                detail=f"{order.get_channel_display()} · {order.get_payment_method_display()}",
                amount=order.amount,
                status=order.get_status_display(),
            )
        )
    for item in (
        FollowUp.objects.filter(customer=customer)
        .select_related("owner", "contact")
        .order_by("-occurred_at")[:limit]
    ):
        detail = item.content
        if item.feedback:
            detail += " — " + _("Feedback: %(text)s") % {"text": item.feedback}
        if item.next_step:
            detail += " — " + _("Next: %(text)s") % {"text": item.next_step}
        entries.append(
            TimelineEntry(
                at=item.occurred_at,
                kind="followup",
                title=item.get_kind_display(),
                detail=detail,
                status=str(item.owner or ""),
            )
        )
    entries.extend(_complaint_entries(customer=customer, limit=limit))
    for response in (
        SurveyResponse.objects.filter(customer=customer)
        .select_related("survey")
        .order_by("-sent_at")[:limit]
    ):
        parts = []
        if response.nps is not None:
            parts.append(f"NPS {response.nps}")
        if response.satisfaction is not None:
            parts.append(_("satisfaction %(score)s/5") % {"score": response.satisfaction})
        if response.comment:
            parts.append(response.comment)
        entries.append(
            TimelineEntry(
                at=response.answered_at or response.sent_at,
                kind="survey",
                title=response.survey.name,
                detail=" · ".join(parts) or _("Not answered yet"),
                status=_("answered") if response.answered_at else _("sent"),
            )
        )
    entries.extend(_timeline_more(customer=customer, limit=limit))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _complaint_entries(*, customer: Customer, limit: int) -> list[TimelineEntry]:
    """Each step of each complaint or inquiry (opened, answered, resolved, closed...);
    complaints recorded before steps were kept show as opened."""
    from retain.complaints.models import ComplaintEvent, ComplaintEventKind

    entries: list[TimelineEntry] = []
    complaints = list(Complaint.objects.filter(customer=customer).order_by("-opened_at")[:limit])
    with_events = set()
    for event in (
        ComplaintEvent.objects.filter(complaint__in=[c.pk for c in complaints])
        .select_related("complaint", "actor")
        .order_by("-at", "-id")[:limit]
    ):
        c = event.complaint
        with_events.add(c.pk)
        entries.append(
            TimelineEntry(
                at=event.at,
                kind="complaint",
                title=f"{c.get_kind_display()}: {c.category} · {event.get_kind_display()}",
                detail=event.text if event.kind != ComplaintEventKind.OPENED else c.description,
                status=str(event.actor or ""),
            )
        )
    for complaint in complaints:
        if complaint.pk in with_events:
            continue
        entries.append(
            TimelineEntry(
                at=complaint.opened_at,
                kind="complaint",
                title=_("Complaint: %(category)s") % {"category": complaint.category},
                detail=complaint.description,
                status=complaint.get_status_display(),
            )
        )
    return entries


def _timeline_more(*, customer: Customer, limit: int) -> list[TimelineEntry]:
    """Campaigns joined, care messages and tasks of the customer (the 360 page)."""
    from retain.campaigns.models import CampaignParticipation
    from retain.care.models import Delivery
    from retain.tasks.models import Task

    entries: list[TimelineEntry] = []
    for part in (
        CampaignParticipation.objects.filter(customer=customer)
        .select_related("campaign")
        .order_by("-joined_at")[:limit]
    ):
        entries.append(
            TimelineEntry(
                at=part.joined_at,
                kind="campaign",
                title=_("Campaign: %(name)s") % {"name": part.campaign.name},
                detail=part.campaign.get_kind_display(),
                status=_("converted") if part.converted else _("joined"),
            )
        )
    for delivery in (
        Delivery.objects.filter(customer=customer)
        .select_related("template")
        .order_by("-on")[:limit]
    ):
        entries.append(
            TimelineEntry(
                at=delivery.sent_at or delivery.send_after,
                kind="care",
                title=_("Care message: %(subject)s") % {"subject": delivery.subject},
                detail=delivery.body[:300],
                status=delivery.get_status_display(),
            )
        )
    for task in (
        Task.objects.filter(customer=customer)
        .select_related("owner")
        .order_by("-created_at")[:limit]
    ):
        entries.append(
            TimelineEntry(
                at=task.closed_at or task.created_at,
                kind="task",
                title=_("Task: %(title)s") % {"title": task.title},
                detail=task.reason,
                status=f"{task.get_status_display()} · {task.owner or ''}",
            )
        )
    return entries


@dataclass(frozen=True)
class PossibleDuplicate:
    customer: Customer
    why: list[str]


def customer_possible_duplicates(
    *, name: str = "", phone: str = "", email: str = "", kind: str = "", limit: int = 10
) -> list[PossibleDuplicate]:
    """Customers that may be the one about to be created: the same name once normalised
    ("(北京)某科技有限公司" = "某科技"), or the same phone or email on the customer or one of
    its contacts (normalised like the duplicate finder does). Visibility is the caller's."""
    from retain.dedup.normalise import company_core, email_key, person_core, phone_key

    why: dict[int, list[str]] = {}

    def hit(ids: Any, reason: str) -> None:
        for cid in ids:
            why.setdefault(cid, [])
            if reason not in why[cid]:
                why[cid].append(reason)

    core = (person_core if kind == "person" else company_core)(name)
    if len(core) >= 2 or (core and not core.isascii()):
        rows = Customer.objects.filter(name__icontains=core).values_list("id", "name", "kind")[:200]
        hit(
            [
                cid
                for cid, other, other_kind in rows
                if (person_core if other_kind == "person" else company_core)(other) == core
            ],
            _("same name"),
        )
    key = phone_key(phone)
    if key:
        hit(
            Customer.objects.filter(phone=key).values_list("id", flat=True)[:limit], _("same phone")
        )
        hit(
            Contact.objects.filter(phone=key).values_list("customer_id", flat=True)[:limit],
            _("same phone"),
        )
    mail = email_key(email)
    if mail:
        hit(
            Customer.objects.filter(email__iexact=mail).values_list("id", flat=True)[:limit],
            _("same email"),
        )
        hit(
            Contact.objects.filter(email__iexact=mail).values_list("customer_id", flat=True)[
                :limit
            ],
            _("same email"),
        )
    found = Customer.objects.select_related("owner").in_bulk(list(why)[:limit])
    return [PossibleDuplicate(found[cid], why[cid]) for cid in list(why)[:limit] if cid in found]
