"""One-off campaigns to a saved segment: validated templates, scheduling, consent, the
frequency cap, quiet hours, real SMTP and webhook deliveries, "opened" receipts, and the
participation on the customer's timeline."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.campaigns.models import CampaignParticipation, CampaignStatus
from retain.campaigns.services import campaign_save, campaign_schedule
from retain.care.models import Delivery, DeliveryStatus
from retain.care.services import campaigns_send_due
from retain.customers.selectors import customer_timeline
from retain.customers.services import consent_set
from retain.playbooks.models import Segment
from retain.tags.models import CustomerTag, Tag, TagGroup
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, received
    server.shutdown()


@pytest.fixture
def segment():
    tag = Tag.objects.create(
        group=TagGroup.objects.create(name="行业", kind="industry"), name="制造业"
    )
    customers = []
    for i, consent in enumerate((True, True, False)):
        customer = CustomerFactory(code=f"M{i}", name=f"制造{i}", kind="company")
        ContactFactory(
            customer=customer,
            name=f"联系人{i}",
            email=f"m{i}@example.com",
            phone=f"1380000000{i}",
            is_primary=True,
        )
        CustomerTag.objects.create(customer=customer, tag=tag, tagged_at=NOW)
        for channel in ("email", "wechat"):
            consent_set(customer=customer, channel=channel, granted=consent, source="form", at=NOW)
        customers.append(customer)
    CustomerFactory(code="X", kind="company")  # outside the segment
    return Segment.objects.create(
        name="制造业", conditions={"all": [{"field": "tag", "op": "eq", "value": "制造业"}]}
    ), customers


def test_an_email_campaign_reaches_consenting_members_and_joins_the_timeline(
    segment, smtp_server, django_capture_on_commit_callbacks
):
    seg, customers = segment
    mk = user_create(username="mk", password=PASSWORD, role="marketing")
    campaign = campaign_save(
        campaign=None,
        fields={
            "name": "新品试用",
            "kind": "new_product",
            "starts_on": NOW.date(),
            "segment": seg,
            "channel": "email",
            "subject": "{{ company }}：新品试用邀请",
            "body": "{{ name }}您好，欢迎试用。退订：{{ unsubscribe_url }}",
        },
        actor=mk,
    )
    campaign_schedule(campaign=campaign, send_at=NOW, actor=mk)

    with django_capture_on_commit_callbacks(execute=True):
        result = campaigns_send_due(now=NOW)

    mail = smtp_server.wait_for(2)
    assert (result.campaigns, result.prepared) == (1, 2)
    assert sorted(m["X-Rcpt-To"] for m in mail) == ["m0@example.com", "m1@example.com"]
    assert mail[0]["Subject"].startswith("=?utf-8?") or "新品试用邀请" in str(mail[0]["Subject"])
    assert sorted(Delivery.objects.values_list("address", "status")) == [
        ("m0@example.com", DeliveryStatus.SENT),
        ("m1@example.com", DeliveryStatus.SENT),
    ]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert CampaignParticipation.objects.filter(campaign=campaign).count() == 2
    kinds = [e.kind for e in customer_timeline(customer=customers[0])]
    assert "campaign" in kinds
    assert AuditEvent.objects.filter(object_type="campaigns.campaign").count() == 2
    assert campaigns_send_due(now=NOW).campaigns == 0  # sent once


def test_a_webhook_campaign_posts_to_the_gateway_which_reports_it_opened(
    segment, hook, django_capture_on_commit_callbacks
):
    server, received = hook
    seg, _customers = segment
    mk = user_create(username="mk", password=PASSWORD, role="marketing")
    campaign = campaign_save(
        campaign=None,
        fields={
            "name": "短信关怀",
            "kind": "care",
            "starts_on": NOW.date(),
            "segment": seg,
            "channel": "webhook",
            "webhook_url": f"http://127.0.0.1:{server.server_port}/sms",
            "subject": "关怀",
            "body": "{{ name }}，天气转凉，注意保暖",
        },
        actor=mk,
    )
    campaign_schedule(campaign=campaign, send_at=NOW, actor=mk)

    with django_capture_on_commit_callbacks(execute=True):
        campaigns_send_due(now=NOW)  # Huey runs the sends in-process

    assert sorted(r["to"] for r in received) == ["13800000000", "13800000001"]
    assert received[0]["text"].endswith("天气转凉，注意保暖")
    opened = Delivery.objects.get(address=received[0]["to"])
    from django.test import Client

    path = received[0]["opened_url"].removeprefix("http://127.0.0.1:8000")
    assert Client().post(path).status_code == 204
    opened.refresh_from_db()
    assert opened.opened_at is not None
    assert Delivery.objects.filter(opened_at__isnull=False).count() == 1


def test_frequency_cap_quiet_hours_validation_and_permissions(segment):
    seg, _customers = segment
    mk = user_create(username="mk", password=PASSWORD, role="marketing")
    fields = {
        "name": "a",
        "kind": "promotion",
        "starts_on": NOW.date(),
        "segment": seg,
        "channel": "email",
        "subject": "s",
        "body": "b",
    }
    with pytest.raises(ValidationError, match="line 1"):
        campaign_save(
            campaign=None, fields={**fields, "body": "{{ customer.owner.password }}"}, actor=mk
        )
    with pytest.raises(PermissionDenied):
        campaign_save(
            campaign=None,
            fields=fields,
            actor=user_create(username="kefu", password=PASSWORD, role="service"),
        )
    night = dt.datetime(2026, 11, 1, 14, 0, tzinfo=dt.UTC)  # 22:00 in Shanghai
    for name in ("a", "b", "c"):
        campaign = campaign_save(campaign=None, fields={**fields, "name": name}, actor=mk)
        campaign_schedule(campaign=campaign, send_at=night, actor=mk)
    result = campaigns_send_due(now=night)

    assert (result.prepared, result.capped) == (4, 2)  # two each for M0 and M1, then capped
    first = Delivery.objects.order_by("id").first()
    assert first.send_after.hour == 0 and first.send_after > night  # 08:00 Shanghai
