"""Asking customers: single-use survey links, sent by e-mail or the webhook channel (SMS,
WeChat, WeCom gateways), or printed as a QR code; the public answer that comes back.

A link carries a random token; only its SHA-256 is stored. The token is made when the
message actually goes out (after the quiet hours), so nothing that could answer sits in the
database. An answer is written once: the invitation is claimed with a conditional UPDATE
inside the answer's transaction, so a replayed or concurrent second submission finds the
invitation taken and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retain.accounts.access import can, survey_may_make_link, survey_may_send
from retain.audit.services import audit_event, snapshot
from retain.customers.models import Consent, ConsentStatus, Contact, Customer, CustomerKind
from retain.surveys.models import (
    SCALES,
    InvitationChannel,
    QuestionKind,
    SendStatus,
    Survey,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveySend,
)
from retain.surveys.services import answer_follow_up_open
from retain.tasks.services import quiet_until

#: The consent each channel needs (as for care messages: a webhook reaches WeChat-style bots).
CONSENT_OF = {InvitationChannel.EMAIL: "email", InvitationChannel.WEBHOOK: "wechat"}
#: A customer is asked at most once in this many days, whatever the survey.
FREQUENCY_CAP_DAYS = 30
#: A non-respondent is reminded once, this many days after the invitation went out.
REMIND_AFTER_DAYS = 3

#: An NPS answer from this up is a promoter's, whose thank-you page offers a referral code.
PROMOTER_MIN = 9


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    base = getattr(settings, "RETAIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("survey-public", args=[token])


def _token_issue(invitation: SurveyInvitation) -> str:
    token = secrets.token_urlsafe(24)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(token_hash=_hash(token))
    invitation.token_hash = _hash(token)
    return token


# --------------------------------------------------------------------------- inviting


@dataclass
class SendResult:
    invited: int = 0
    without_consent: int = 0
    capped: int = 0
    no_address: int = 0
    invitations: list[SurveyInvitation] = field(default_factory=list)


@dataclass
class Recipient:
    customer: Customer
    address: str
    name: str


@dataclass
class Recipients:
    """Who of a list of customers would be asked on a channel now, and why the others not:
    the one rule of consent, the frequency cap and an address (``survey_send`` and its
    preview use it)."""

    chosen: list[Recipient] = field(default_factory=list)
    without_consent: int = 0
    capped: int = 0
    no_address: int = 0


def _contacts_by_customer(ids: list[int]) -> dict[int, Contact]:
    return {
        c.customer_id: c
        for c in Contact.objects.filter(
            customer_id__in=ids, is_primary=True, left_on__isnull=True
        ).order_by("id")
    }


def _address(customer: Customer, channel: str, contact: Contact | None) -> tuple[str, str]:
    """(address, greeting name): a person's own e-mail or mobile, else the primary contact's."""
    field_name = "email" if channel == InvitationChannel.EMAIL else "phone"
    own = getattr(customer, field_name, "") if customer.kind == CustomerKind.PERSON else ""
    if own:
        return own, customer.name
    if contact is not None and getattr(contact, field_name):
        return getattr(contact, field_name), contact.name
    return "", customer.name


def _capped(customer_ids: list[int], now: dt.datetime) -> set[int]:
    since = now - dt.timedelta(days=FREQUENCY_CAP_DAYS)
    return set(
        SurveyInvitation.objects.filter(customer_id__in=customer_ids, created_at__gt=since)
        .exclude(channel=InvitationChannel.LINK)
        .values_list("customer_id", flat=True)
    )


#: Customers are sorted and invited in batches of this many (a few queries per batch).
BATCH = 500


def recipients_sort(*, customers: Iterable[Customer], channel: str, now: dt.datetime) -> Recipients:
    """Consent to the channel, not asked in the last ``FREQUENCY_CAP_DAYS`` days, an address:
    who is asked and how many are not, for each reason. A customer listed twice counts once."""
    channel = InvitationChannel(channel)
    out = Recipients()
    people = list({c.pk: c for c in customers}.values())
    for start in range(0, len(people), BATCH):
        batch = people[start : start + BATCH]
        ids = [c.pk for c in batch]
        granted = set(
            Consent.objects.filter(
                customer_id__in=ids, channel=CONSENT_OF[channel], status=ConsentStatus.GRANTED
            ).values_list("customer_id", flat=True)
        )
        capped = _capped(ids, now)
        contacts = _contacts_by_customer(ids)
        for customer in batch:
            if customer.pk not in granted:
                out.without_consent += 1
            elif customer.pk in capped:
                out.capped += 1
            else:
                address, name = _address(customer, channel, contacts.get(customer.pk))
                if address:
                    out.chosen.append(Recipient(customer, address, name))
                else:
                    out.no_address += 1
    return out


@transaction.atomic
def survey_send(
    *,
    survey: Survey,
    customers: Iterable[Customer],
    channel: str,
    actor: Any,
    language: str = "zh-hans",
    reason: str = "",
    webhook_url: str = "",
    event_keys: dict[int, str] | None = None,
    now: dt.datetime | None = None,
) -> SendResult:
    """Invite each customer who consented to the channel and was not asked in the last
    ``FREQUENCY_CAP_DAYS`` days; the messages go out now, or when the quiet hours end.
    ``actor`` None is the system (an event or a schedule); a person needs the permission.
    ``event_keys`` (customer id -> key) names the event each invitation answers: a second
    invitation for the same survey and event is never made, whichever door caused it."""
    if actor is not None and not can(actor, "surveys.add_surveyinvitation"):
        raise PermissionDenied("surveys.add_surveyinvitation")
    now = now or timezone.now()
    channel = InvitationChannel(channel)
    keys = event_keys or {}
    sorted_ = recipients_sort(customers=customers, channel=channel, now=now)
    send_after = quiet_until(now) or now
    result = SendResult(
        without_consent=sorted_.without_consent,
        capped=sorted_.capped,
        no_address=sorted_.no_address,
    )
    taken = (
        set(
            SurveyInvitation.objects.filter(
                survey=survey, event_key__in=list(keys.values())
            ).values_list("event_key", flat=True)
        )
        if keys
        else set()
    )
    for chosen in sorted_.chosen:
        key = keys.get(chosen.customer.pk, "")
        if key and key in taken:
            result.capped += 1
            continue
        invitation = SurveyInvitation.objects.create(
            survey=survey,
            customer=chosen.customer,
            channel=channel,
            address=chosen.address
            if channel == InvitationChannel.EMAIL
            else f"{chosen.address}|{webhook_url}",
            greeting_name=chosen.name,
            language=language,
            reason=reason[:100],
            event_key=key,
            created_at=now,
            send_after=send_after,
            expires_at=send_after + dt.timedelta(days=survey.valid_days),
        )
        result.invitations.append(invitation)
        result.invited += 1
    if actor is not None and result.invited:
        audit_event(
            actor=actor,
            action="create",
            object_repr=f"survey {survey.name}: {result.invited} invitations ({channel})",
        )
    ids_out = [i.pk for i in result.invitations]
    eta = send_after if send_after > now else None

    def enqueue() -> None:
        from retain.surveys.tasks import invitation_send_job

        for pk in ids_out:
            if eta is not None:
                invitation_send_job.schedule(kwargs={"invitation_id": pk}, eta=eta)
            else:
                invitation_send_job(invitation_id=pk)

    if ids_out:
        transaction.on_commit(enqueue)
    return result


def _message(invitation: SurveyInvitation, url: str, reminder: bool) -> tuple[str, str]:
    with translation.override(invitation.language):
        title = invitation.survey.title(invitation.language)
        subject = _("Reminder: %(title)s") % {"title": title} if reminder else title
        body = _(
            "Dear %(name)s,\n\nwe would like to hear how we are doing. The survey takes a "
            "minute:\n%(url)s\n\nThe link works once and until %(until)s."
        ) % {
            "name": invitation.greeting_name,
            "url": url,
            "until": timezone.localdate(invitation.expires_at).isoformat(),
        }
    return subject, body


def invitation_send(
    *, invitation_id: int, reminder: bool = False, now: dt.datetime | None = None
) -> SurveyInvitation:
    """Make the invitation's token and deliver its link. Consent is checked again (it may
    have been withdrawn while the message waited). A failure raises so the job retries."""
    now = now or timezone.now()
    invitation = SurveyInvitation.objects.select_related("survey", "customer").get(pk=invitation_id)
    if invitation.response_id is not None or (invitation.sent_at and not reminder):
        return invitation
    channel = InvitationChannel(invitation.channel)
    if not Consent.objects.filter(
        customer=invitation.customer, channel=CONSENT_OF[channel], status=ConsentStatus.GRANTED
    ).exists():
        invitation.last_error = "consent withdrawn"
        invitation.save(update_fields=["last_error"])
        return invitation
    token = _token_issue(invitation)
    url = survey_url(token)
    subject, body = _message(invitation, url, reminder)
    if channel == InvitationChannel.EMAIL:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.address]).send()
    else:
        to, _sep, hook = invitation.address.partition("|")
        payload = json.dumps(
            {"to": to, "subject": subject, "text": body, "url": url}, ensure_ascii=False
        ).encode()
        request = urllib.request.Request(
            hook,
            data=payload,
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")
    if reminder:
        invitation.reminded_at = now
    else:
        invitation.sent_at = now
    invitation.last_error = ""
    invitation.save(update_fields=["sent_at", "reminded_at", "last_error"])
    return invitation


def reminders_send(*, now: dt.datetime) -> int:
    """Remind each non-respondent once, ``REMIND_AFTER_DAYS`` after the invitation went out,
    while the link is still valid (a reminder carries a new link; the old one stops working)."""
    due = list(
        SurveyInvitation.objects.filter(
            response__isnull=True,
            reminded_at__isnull=True,
            sent_at__lte=now - dt.timedelta(days=REMIND_AFTER_DAYS),
            expires_at__gt=now,
        )
        .exclude(channel=InvitationChannel.LINK)
        .values_list("pk", flat=True)
    )
    if quiet_until(now) is not None:
        return 0
    for pk in due:
        invitation_send(invitation_id=pk, reminder=True, now=now)
    return len(due)


def invitation_link_make(
    *,
    survey: Survey,
    customer: Customer,
    actor: Any,
    language: str = "zh-hans",
    now: dt.datetime | None = None,
) -> tuple[SurveyInvitation, str]:
    """A link for print or in-store use (shown as a QR code); no consent needed, nothing sent."""
    if not survey_may_make_link(actor):
        raise PermissionDenied("surveys.add_surveyinvitation")
    now = now or timezone.now()
    invitation = SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        channel=InvitationChannel.LINK,
        greeting_name=customer.name,
        language=language,
        created_at=now,
        send_after=now,
        sent_at=now,
        expires_at=now + dt.timedelta(days=survey.valid_days),
    )
    token = _token_issue(invitation)
    audit_event(actor=actor, action="create", obj=invitation, after=snapshot(invitation))
    return invitation, survey_url(token)


def qr_svg(url: str) -> str:
    """The link as an SVG QR code (segno, error correction M)."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue().decode()


def qr_png(url: str) -> bytes:
    """The link as a PNG QR code (segno writes PNG itself), for print."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


# --------------------------------------------------------------------------- answering


class LinkState:
    OK = "ok"
    INVALID = "invalid"
    USED = "used"
    EXPIRED = "expired"


def invitation_read(token: str, now: dt.datetime | None = None) -> tuple[str, Any]:
    """(state, invitation) of a link; the invitation is None for a forged or unknown token."""
    now = now or timezone.now()
    invitation = (
        SurveyInvitation.objects.select_related("survey").filter(token_hash=_hash(token)).first()
    )
    if invitation is None:
        return LinkState.INVALID, None
    if invitation.response_id is not None:
        return LinkState.USED, invitation
    if invitation.expires_at <= now:
        return LinkState.EXPIRED, invitation
    return LinkState.OK, invitation


def questions_of(survey: Survey) -> list[SurveyQuestion]:
    return list(survey.questions.order_by("position", "id"))


def answers_parse(
    questions: list[SurveyQuestion], data: Any, language: str
) -> tuple[dict[str, Any], dict[int, str]]:
    """Answers by question id from form data (``q<id>``), and errors by question id."""
    answers: dict[str, Any] = {}
    errors: dict[int, str] = {}
    for q in questions:
        name = f"q{q.pk}"
        if q.kind == QuestionKind.MULTIPLE:
            options = q.choices(language)
            picked = [v for v in data.getlist(name) if v in options]
            if picked:
                answers[str(q.pk)] = picked
        else:
            raw = (data.get(name) or "").strip()
            if not raw:
                pass
            elif q.kind in SCALES:
                low, high = SCALES[QuestionKind(q.kind)]
                if raw.isdigit() and low <= int(raw) <= high:
                    answers[str(q.pk)] = int(raw)
                else:
                    errors[q.pk] = _("Choose a value from %(low)d to %(high)d.") % {
                        "low": low,
                        "high": high,
                    }
                    continue
            elif q.kind == QuestionKind.SINGLE:
                if raw in q.choices(language):
                    answers[str(q.pk)] = raw
                else:
                    errors[q.pk] = _("Choose one of the answers.")
                    continue
            else:
                answers[str(q.pk)] = raw[:4000]
        if q.required and str(q.pk) not in answers:
            errors[q.pk] = _("Please answer this question.")
    return answers, errors


@dataclass
class Submitted:
    state: str
    invitation: SurveyInvitation | None = None
    response: SurveyResponse | None = None
    errors: dict[int, str] = field(default_factory=dict)
    referral: ReferralOffer | None = None


@dataclass(frozen=True)
class ReferralOffer:
    """What a promoter's thank-you page offers: their referral code (the loyalty app's) and
    the points it earns both sides once the friend's first order stands."""

    code: str
    referrer_points: int
    referee_points: int
    #: the loyalty app's public sign-up link with the code (``/r/<code>/``), to pass on
    url: str = ""


def referral_offer(response: SurveyResponse) -> ReferralOffer | None:
    """A promoter's (NPS 9-10) referral code from the loyalty app, made on first use
    (``retain.loyalty.ledger.account_ensure``); None for anyone else."""
    if response.nps is None or response.nps < PROMOTER_MIN:
        return None
    from retain.loyalty.ledger import account_ensure, loyalty_settings

    account = account_ensure(response.customer)
    conf = loyalty_settings()
    base = getattr(settings, "RETAIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    url = base + reverse("referral-signup", args=[account.referral_code])
    return ReferralOffer(account.referral_code, conf.referrer_bonus, conf.referee_bonus, url)


def survey_answer_submit(
    *, token: str, data: Any, request: Any = None, now: dt.datetime | None = None
) -> Submitted:
    """The customer's answer through their link: recorded once (a replayed, forged or
    expired link changes nothing), on the timeline and in the scores; a detractor or an
    unhappy satisfaction answer opens one service task for the owner. Audited (no actor)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, invitation = invitation_read(token, now)
        if state != LinkState.OK:
            return Submitted(state, invitation)
        questions = questions_of(invitation.survey)
        answers, errors = answers_parse(questions, data, invitation.language)
        if errors:
            return Submitted(LinkState.OK, invitation, errors=errors)
        kinds = {str(q.pk): q.kind for q in questions}

        def first(kind: str) -> Any:
            return next((v for k, v in answers.items() if kinds[k] == kind), None)

        comments = [v for k, v in answers.items() if kinds[k] == QuestionKind.TEXT]
        response = SurveyResponse(
            customer_id=invitation.customer_id,
            survey=invitation.survey,
            sent_at=invitation.sent_at or invitation.created_at,
            answered_at=now,
            nps=first(QuestionKind.NPS),
            satisfaction=first(QuestionKind.CSAT),
            effort=first(QuestionKind.CES),
            comment="\n".join(comments),
            answers=answers,
        )
        response.full_clean()
        response.save()
        claimed = SurveyInvitation.objects.filter(pk=invitation.pk, response__isnull=True).update(
            response=response
        )
        if not claimed:  # a concurrent submission won: undo ours
            transaction.set_rollback(True)
            return Submitted(LinkState.USED, invitation)
        audit_event(
            actor=None,
            action="create",
            obj=response,
            after=snapshot(response),
            request=request,
            object_repr=f"survey answer via link ({invitation.channel})",
        )
        answer_follow_up_open(response=response, now=now)
    return Submitted(LinkState.OK, invitation, response, referral=referral_offer(response))


# --------------------------------------------------------------------------- to a segment


@dataclass
class SendPreview:
    """What sending now would do: the segment's size, who would be asked, who not and why,
    and when the messages would go (None: now; else the end of the quiet hours)."""

    total: int
    invited: int
    without_consent: int
    capped: int
    no_address: int
    send_after: dt.datetime | None


def _segment_customers(segment: Any) -> list[Customer]:
    from retain.playbooks.selectors import segment_members

    return list(segment_members(segment=segment).order_by("pk"))


def survey_send_preview(
    *, survey: Survey, segment: Any, channel: str, actor: Any, now: dt.datetime | None = None
) -> SendPreview:
    """The counts of ``survey_send`` for a segment, by the same rule, without sending."""
    if not survey_may_send(actor):
        raise PermissionDenied("surveys.add_surveyinvitation")
    now = now or timezone.now()
    people = _segment_customers(segment)
    sorted_ = recipients_sort(customers=people, channel=channel, now=now)
    return SendPreview(
        total=len(people),
        invited=len(sorted_.chosen),
        without_consent=sorted_.without_consent,
        capped=sorted_.capped,
        no_address=sorted_.no_address,
        send_after=quiet_until(now),
    )


def _send_validate(channel: str, language: str, webhook_url: str) -> None:
    errors: dict[str, str] = {}
    if channel not in (InvitationChannel.EMAIL, InvitationChannel.WEBHOOK):
        errors["channel"] = _("Choose e-mail or the webhook channel.")
    if language not in ("zh-hans", "en"):
        errors["language"] = _("Choose Chinese or English.")
    if channel == InvitationChannel.WEBHOOK and not webhook_url.startswith(("http://", "https://")):
        errors["webhook_url"] = _("The webhook channel needs the gateway's URL.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def survey_send_start(
    *,
    survey: Survey,
    segment: Any,
    channel: str,
    actor: Any,
    language: str = "zh-hans",
    webhook_url: str = "",
    request: Any = None,
    now: dt.datetime | None = None,
) -> SurveySend:
    """Queue a send of ``survey`` to ``segment`` as a background job (``survey_send_job``)
    whose progress the send page shows. Audited."""
    if not survey_may_send(actor):
        raise PermissionDenied("surveys.add_surveyinvitation")
    _send_validate(channel, language, webhook_url)
    now = now or timezone.now()
    send = SurveySend(
        survey=survey,
        segment=segment,
        segment_name=segment.name,
        channel=channel,
        language=language,
        webhook_url=webhook_url,
        actor=actor,
        created_at=now,
    )
    send.full_clean()
    send.save()
    audit_event(actor=actor, action="create", obj=send, after=snapshot(send), request=request)
    pk = send.pk

    def enqueue() -> None:
        from retain.surveys.tasks import survey_send_job

        survey_send_job(send_id=pk)

    transaction.on_commit(enqueue)
    return send


def survey_send_run(*, send_id: int, now: dt.datetime | None = None) -> SurveySend:
    """The job: invite the segment's customers batch by batch (``survey_send``, as the user
    who started it), in customer order. Each batch and the progress it makes commit together,
    so a run whose worker died is resumed by the job queued again after the last batch done,
    and nobody is invited twice. A failure is kept on the send."""
    now = now or timezone.now()
    with transaction.atomic():
        send = (
            SurveySend.objects.select_for_update(of=("self",))
            .select_related("survey", "segment", "actor")
            .get(pk=send_id)
        )
        if send.status not in (SendStatus.QUEUED, SendStatus.RUNNING):
            return send
        send.status = SendStatus.RUNNING
        send.save(update_fields=["status"])
    try:
        if send.segment is None:
            raise ValueError("the segment was deleted")
        people = _segment_customers(send.segment)
        if send.last_customer_id == 0:
            SurveySend.objects.filter(pk=send.pk).update(total=len(people))
        while True:
            with transaction.atomic():
                done_up_to = (
                    SurveySend.objects.select_for_update()
                    .values_list("last_customer_id", flat=True)
                    .get(pk=send.pk)
                )
                batch = [c for c in people if c.pk > done_up_to][:BATCH]
                if not batch:
                    break
                result = survey_send(
                    survey=send.survey,
                    customers=batch,
                    channel=send.channel,
                    actor=send.actor,
                    language=send.language,
                    reason=f"segment {send.segment_name}",
                    webhook_url=send.webhook_url,
                    now=now,
                )
                SurveySend.objects.filter(pk=send.pk).update(
                    last_customer_id=batch[-1].pk,
                    processed=F("processed") + len(batch),
                    invited=F("invited") + result.invited,
                    without_consent=F("without_consent") + result.without_consent,
                    capped=F("capped") + result.capped,
                    no_address=F("no_address") + result.no_address,
                )
    except Exception as exc:  # kept on the send, for the send page to show
        SurveySend.objects.filter(pk=send.pk).update(
            status=SendStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    else:
        SurveySend.objects.filter(pk=send.pk).update(
            status=SendStatus.DONE, finished_at=timezone.now()
        )
    send.refresh_from_db()
    return send


def send_lost(*, name: str, kwargs: dict[str, Any], error: str, **_: Any) -> None:
    """A send job whose worker died too often (``pipeline.queue.job_lost``): the send says
    failed, with how far it got, instead of "Sending" for ever."""
    if not name.endswith("survey_send_job") or "send_id" not in kwargs:
        return
    SurveySend.objects.filter(
        pk=kwargs["send_id"], status__in=(SendStatus.QUEUED, SendStatus.RUNNING)
    ).update(status=SendStatus.FAILED, error=error[:2000], finished_at=timezone.now())
