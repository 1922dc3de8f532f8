"""Care messages: greetings on the right day, to consenting contacts, with a working
unsubscribe link, logged and retried."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from retain.audit.models import AuditEvent
from retain.care.models import CareTemplate, Delivery, DeliveryStatus
from retain.care.services import DeliveryFailed, care_messages_prepare, delivery_send, holiday_date
from retain.customers.models import Consent
from retain.customers.services import consent_set
from tests.factories import ContactFactory, CustomerFactory

from .conftest import NOW, free_port

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 1)


def person(code, email, birthday=dt.date(1990, 11, 1), consent=True):
    customer = CustomerFactory(
        code=code, kind="person", name=f"客户{code}", email=email, birthday=birthday
    )
    if consent:
        consent_set(customer=customer, channel="email", granted=True, source="form", at=NOW)
    return customer


@pytest.mark.parametrize(
    ("occasion", "year", "expected"),
    [
        ("spring_festival", 2026, dt.date(2026, 2, 17)),
        ("spring_festival", 2027, dt.date(2027, 2, 6)),
        ("mid_autumn", 2026, dt.date(2026, 9, 25)),
        ("mid_autumn", 2027, dt.date(2027, 9, 15)),
        ("dragon_boat", 2026, dt.date(2026, 6, 19)),
        ("national_day", 2026, dt.date(2026, 10, 1)),
    ],
)
def test_holidays_follow_the_lunar_calendar(occasion, year, expected):
    assert holiday_date(occasion, year) == expected


def test_a_birthday_greeting_arrives_only_for_consenting_contacts(
    smtp_server, django_capture_on_commit_callbacks
):
    person("P1", "p1@example.com")
    person("P2", "p2@example.com", consent=False)
    person("P3", "p3@example.com", birthday=dt.date(1990, 11, 2))
    company = CustomerFactory(code="CO1")
    consent_set(customer=company, channel="email", granted=True, source="form", at=NOW)
    ContactFactory(
        customer=company, name="张伟", email="zhang@example.com", birthday=dt.date(1985, 11, 1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = care_messages_prepare(on=DAY, now=NOW)

    mail = smtp_server.wait_for(2)
    assert result.prepared == 2
    assert result.without_consent == 1
    assert sorted(m["X-Rcpt-To"] for m in mail) == ["p1@example.com", "zhang@example.com"]
    body = (
        next(m for m in mail if m["X-Rcpt-To"] == "zhang@example.com")
        .get_payload(decode=True)
        .decode()
    )
    assert body.startswith("亲爱的张伟：")
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}


def test_the_same_day_is_never_greeted_twice(smtp_server, django_capture_on_commit_callbacks):
    person("P1", "p1@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        care_messages_prepare(on=DAY, now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        again = care_messages_prepare(on=DAY, now=NOW)

    assert again.prepared == 0
    assert len(smtp_server.wait_for(2, timeout=1)) == 1


def test_the_unsubscribe_link_withdraws_consent(
    client, smtp_server, django_capture_on_commit_callbacks
):
    customer = person("P1", "p1@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        care_messages_prepare(on=DAY, now=NOW)
    body = smtp_server.wait_for(1)[0].get_payload(decode=True).decode()
    path = re.search(r"http://[^/]+(/unsubscribe/\S+/)", body).group(1)

    page = client.get(path)
    confirmed = client.post(path)

    assert page.status_code == confirmed.status_code == 200
    assert Consent.objects.get(customer=customer, channel="email").status == "withdrawn"
    event = AuditEvent.objects.filter(customer=customer, action="consent").latest("at")
    assert (event.actor, event.after["status"], event.after["source"]) == (
        None,
        "withdrawn",
        "unsubscribe link",
    )
    # and next year's greeting is not prepared
    assert care_messages_prepare(on=dt.date(2027, 11, 1), now=NOW).prepared == 0


def test_a_forged_unsubscribe_link_changes_nothing(client):
    customer = person("P1", "p1@example.com")

    response = client.post("/unsubscribe/eyJjIjoxLCJjaCI6ImVtYWlsIn0:forged:sig/")

    assert response.status_code == 400
    assert Consent.objects.get(customer=customer, channel="email").status == "granted"


def test_a_failed_send_is_logged_and_the_retry_succeeds(settings, smtp_server):
    person("P1", "p1@example.com")
    care_messages_prepare(on=DAY, now=NOW)  # not committed: nothing queued
    delivery = Delivery.objects.get()
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there

    with pytest.raises(DeliveryFailed):
        delivery_send(delivery_id=delivery.pk, now=NOW)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "ConnectionRefusedError" in delivery.last_error

    settings.EMAIL_PORT = port
    delivery_send(delivery_id=delivery.pk, now=NOW)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 2, "")
    assert len(smtp_server.wait_for(1)) == 1


def test_greetings_in_quiet_hours_wait_until_morning():
    person("P1", "p1@example.com")
    night = dt.datetime(2026, 10, 31, 22, 0, tzinfo=dt.UTC)  # 06:00 on 1 November in Shanghai

    care_messages_prepare(on=DAY, now=night)

    assert Delivery.objects.get().send_after == dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)


def test_the_webhook_channel_posts_json():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        customer = person("P1", "p1@example.com")
        consent_set(customer=customer, channel="wechat", granted=True, source="form", at=NOW)
        CareTemplate.objects.create(
            name="双十一关怀",
            occasion="custom",
            custom_month=11,
            custom_day=1,
            channel="webhook",
            webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
            subject="你好 {{ name }}",
            body="双十一快乐，{{ name }}",
        )
        care_messages_prepare(on=DAY, now=NOW)
        hook = Delivery.objects.get(template__name="双十一关怀")

        delivery_send(delivery_id=hook.pk, now=NOW)
    finally:
        server.shutdown()

    assert received == [
        {
            "to": "p1@example.com",
            "subject": "你好 客户P1",
            "text": "双十一快乐，客户P1",
            "customer": "P1",
            "delivery": hook.pk,
            "opened_url": received[0]["opened_url"],
        }
    ]
    assert received[0]["opened_url"].startswith("http://127.0.0.1:8000/care/opened/")
    hook.refresh_from_db()
    assert hook.status == DeliveryStatus.SENT


def test_an_anniversary_greets_on_the_day_of_the_first_contact_in_later_years():
    from retain.customers.models import Customer

    old = person("A1", "a1@example.com", birthday=None)
    new = person("A2", "a2@example.com", birthday=None)
    Customer.objects.filter(pk=old.pk).update(first_contact_date=dt.date(2023, 11, 1))
    Customer.objects.filter(pk=new.pk).update(first_contact_date=dt.date(2026, 11, 1))
    CareTemplate.objects.create(
        name="合作周年", occasion="anniversary", subject="周年", body="感谢{{ name }}一路相伴"
    )

    care_messages_prepare(on=DAY, now=NOW)

    sent = Delivery.objects.filter(template__name="合作周年")
    assert list(sent.values_list("address", "body")) == [("a1@example.com", "感谢客户A1一路相伴")]
