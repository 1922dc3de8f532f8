"""Marketing's day in a real Chromium, in both languages: create the tag 品质优先, tag three
customers from the list, build and save the segment 制造业 AND 品质优先 from labelled
choices (the Save button used to do nothing: the form's htmx parameters dropped the name),
attach a care message (webhook) and a campaign (e-mail) to it, preview the message,
schedule the campaign; after the worker's run the delivery logs show what a real SMTP
server (aiosmtpd) and a webhook receiver started here received."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.campaigns.models import Campaign, CampaignParticipation
from retain.care.models import CareTemplate, Delivery, DeliveryStatus
from retain.care.services import campaigns_send_due, care_messages_prepare
from retain.customers.services import consent_set
from retain.playbooks.models import Segment
from retain.tags.models import CustomerTag, Tag, TagGroup
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, outside quiet hours

TEXTS = {
    "zh-CN": {"saved": "分群已保存", "tagged": "3"},
    "en": {"saved": "Segment saved", "tagged": "3"},
}


def _login(page, live_server, username: str, path: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{path}")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_marketing_tags_saves_a_segment_and_messages_it(
    browser, live_server, smtp, hook, huey_immediate, settings, locale
):
    received = hook.received
    settings.RETAIN_BASE_URL = live_server.url  # links in messages point at this server
    text = TEXTS[locale]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        with time_machine.travel(NOW, tick=True):
            user_create(username="mk", password=PASSWORD, role="marketing")
            maker = Tag.objects.create(
                group=TagGroup.objects.create(name="行业", kind="industry"), name="制造业"
            )
            TagGroup.objects.create(name="需求", kind="need")
            customers = []
            for i in range(4):
                customer = CustomerFactory(code=f"M{i}", name=f"制造{i}", kind="company")
                ContactFactory(
                    customer=customer,
                    name=f"联系人{i}",
                    email=f"m{i}@example.com",
                    is_primary=True,
                )
                for channel in ("email", "wechat"):
                    consent_set(customer=customer, channel=channel, granted=True, source="form")
                customers.append(customer)
            for customer in customers[:3]:
                CustomerTag.objects.create(customer=customer, tag=maker, tagged_at=NOW)

            # A new tag, given to three customers from the list (M0, M1 and M3).
            _login(page, live_server, "mk", "/tags/")
            page.select_option("#tag-new-group", label="需求")
            page.fill("#tag-new-name", "品质优先")
            page.click("#tag-new-save")
            page.wait_for_selector('tr[data-tag="品质优先"]')
            page.goto(f"{live_server.url}/customers/")
            for code in ("M0", "M1", "M3"):
                page.check(f'#customer-table input[aria-label="{code}"]')
            page.select_option("#bulk-action", "tag")
            page.select_option("#bulk-tag", label="需求 · 品质优先")
            page.click("#bulk-apply")
            page.wait_for_selector(".message")
            quality = Tag.objects.get(name="品质优先")
            assert sorted(
                CustomerTag.objects.filter(tag=quality).values_list("customer__code", flat=True)
            ) == ["M0", "M1", "M3"]
            page.goto(f"{live_server.url}/tags/")
            assert page.inner_text('tr[data-tag="品质优先"] td.count') == text["tagged"]
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1

            # The segment 制造业 AND 品质优先, from labelled choices, saved.
            page.goto(f"{live_server.url}/segments/")
            rows = page.locator("#segment-form .row")
            for i, name in enumerate(("制造业", "品质优先")):
                rows.nth(i).locator("select[name=f]").select_option("tag")
                assert rows.nth(i).locator("input[name=v]").get_attribute("list") == "values-tag"
                rows.nth(i).locator("input[name=v]").fill(name)
            page.wait_for_selector("#segment-size >> text=2")
            assert page.locator("#segment-members a").all_inner_texts() == ["M0", "M1"]
            page.fill("#segment-name", "制造业+品质优先")
            page.click("#segment-save")
            page.wait_for_selector(f".message >> text={text['saved']}")
            segment = Segment.objects.get(name="制造业+品质优先")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
            shot(page, f"segment-saved-{locale}")

            # A care message to the segment through the webhook channel, previewed.
            page.goto(f"{live_server.url}/care/messages/new/")
            page.fill("#id_name", "白皮书关怀")
            page.select_option("#id_occasion", "custom")
            page.fill("#id_custom_month", "11")
            page.fill("#id_custom_day", "1")
            page.select_option("#id_channel", "webhook")
            page.fill("#id_webhook_url", f"http://127.0.0.1:{hook.port}/wecom")
            page.select_option("#id_segment", label=segment.name)
            page.fill("#id_subject", "{{ company }} 技术白皮书")
            page.fill("#id_body", "{{ name }}您好，{{ owner.password }}")
            page.click("#save")
            assert "owner.password" in page.inner_text("#errors-body")  # refused, with its line
            page.fill("#id_body", "{{ name }}您好，送上《品质制造技术白皮书》。")
            page.fill("#preview-customer", "M0")
            page.click("#preview")
            assert page.inner_text("#preview-result h2") == "制造0 技术白皮书"
            assert "联系人0" not in page.inner_text("#preview-result")  # the customer's name
            page.click("#save")
            page.wait_for_selector(".message")
            care = CareTemplate.objects.get(name="白皮书关怀")
            assert care.segment == segment

            # A campaign to the segment by e-mail, previewed and scheduled.
            page.goto(f"{live_server.url}/care/campaigns/new/")
            page.fill("#id_name", "白皮书推广")
            page.select_option("#id_kind", "new_product")
            page.fill("#id_starts_on", "2026-11-01")
            page.select_option("#id_segment", label=segment.name)
            page.select_option("#id_channel", "email")
            page.fill("#id_subject", "《品质制造技术白皮书》")
            page.fill("#id_body", "{{ name }}您好：白皮书已备好。退订：{{ unsubscribe_url }}")
            page.fill("#preview-customer", "M1")
            page.click("#preview")
            assert page.inner_text("#preview-result").startswith("《品质制造技术白皮书》")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
            page.click("#save")
            page.wait_for_selector("#schedule-form")
            page.fill("#send-at", "2026-11-01T10:05")
            page.click("#schedule")
            page.wait_for_selector(".message")
            campaign = Campaign.objects.get(name="白皮书推广")
            assert campaign.status == "scheduled"

        # The worker's runs: the daily care messages, then the due campaigns.
        with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=True):
            care_messages_prepare(on=dt.date(2026, 11, 1), now=dt.datetime.now(dt.UTC))
            assert campaigns_send_due(now=dt.datetime.now(dt.UTC)).prepared == 2
            mail = smtp.wait_for(2)
            assert sorted(m["X-Rcpt-To"] for m in mail) == ["m0@example.com", "m1@example.com"]
            assert sorted(r["to"] for r in received) == ["m0@example.com", "m1@example.com"]
            assert received[0]["text"].endswith("送上《品质制造技术白皮书》。")

            page.goto(f"{live_server.url}/care/deliveries/?campaign={campaign.pk}")
            assert page.inner_text("#total-sent") == "2"
            assert page.inner_text("#total-failed") == "0"
            # the WeCom gateway reports one message read
            urllib.request.urlopen(
                urllib.request.Request(received[0]["opened_url"], b"", method="POST")
            )
            page.goto(f"{live_server.url}/care/deliveries/?template={care.pk}")
            assert page.inner_text("#total-sent") == "2"
            assert page.inner_text("#total-opened") == "1"
            shot(page, f"delivery-log-{locale}")
            assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4
            assert sorted(
                CampaignParticipation.objects.values_list("customer__code", flat=True)
            ) == ["M0", "M1"]
    finally:
        context.close()
