"""Marketing runs a survey from the app's pages on a phone (390x844) in a real Chromium, in
both languages: makes it from a template, edits it, counts the recipients of a segment,
sends it (the background job; a real SMTP server receives the mail), makes one customer's
QR code and opens the results. Nothing overflows the phone's width."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.accounts.services import user_create
from retain.customers.services import consent_set
from retain.playbooks.models import Segment
from retain.surveys.models import SendStatus, Survey, SurveySend
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "zh-CN": {
        "count": "统计收件人",
        "make": "创建",
        "saved": "调查已保存",
        "send": "发送给 1 位客户",
        "qr": "下载 PNG",
        "results": "回复率",
    },
    "en": {
        "count": "Count the recipients",
        "make": "Make it",
        "saved": "Survey saved",
        "send": "Send to 1 customer",
        "qr": "Download PNG",
        "results": "Response rate",
    },
}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_marketing_runs_a_survey_on_a_phone(
    browser, live_server, smtp, huey_immediate, settings, locale
):
    settings.RETAIN_BASE_URL = live_server.url
    settings.RETAIN_QUIET_HOURS = (dt.time(0, 0), dt.time(0, 0))  # none
    text = TEXTS[locale]
    user_create(username="mk", password=PASSWORD, role="marketing")
    segment = Segment.objects.create(name="全部客户", conditions={"all": []})
    asked = CustomerFactory(name="某某公司", code="C-ASK")
    ContactFactory(customer=asked, name="王芳", email="wf@example.com", is_primary=True)
    consent_set(customer=asked, channel="email", granted=True, source="form")
    CustomerFactory(name="没有同意", code="C-NO")

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{live_server.url}/surveys/")
        page.fill("#id_username", "mk")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#survey-from-template")
        _fits(page)
        page.select_option("#id_template", "after_purchase")
        page.get_by_role("button", name=text["make"]).click()

        page.wait_for_selector("#survey-form")
        survey = Survey.objects.get()
        page.fill("#id_thank_you_en", "Thanks a lot!")
        page.click("#survey-save")
        page.wait_for_selector(".message")
        assert text["saved"] in page.content()
        _fits(page)
        shot(page, f"survey-builder-phone-{locale}")
        survey.refresh_from_db()
        assert survey.thank_you_en == "Thanks a lot!" and survey.questions.count() == 3

        page.click("#tab-send")
        page.select_option("#id_segment", str(segment.pk))
        page.get_by_role("button", name=text["count"]).click()
        page.wait_for_selector("#send-confirm")
        assert page.locator("#preview-total").inner_text() == "2"
        assert page.locator("#preview-consent").inner_text() == "1"
        _fits(page)
        shot(page, f"survey-send-phone-{locale}")
        page.get_by_role("button", name=text["send"]).click()
        page.wait_for_selector("#send-progress[data-status=done]")
        send = SurveySend.objects.get()
        assert (send.status, send.invited, send.total) == (SendStatus.DONE, 1, 2)
        [mail] = smtp.wait_for(1)
        assert mail["X-Rcpt-To"] == "wf@example.com"

        page.click("#tab-link")
        page.fill("#id_customer", "C-NO")
        page.click("#link-make")
        page.wait_for_selector("#survey-qr svg")
        assert page.locator("#qr-png").inner_text() == text["qr"]
        _fits(page)
        shot(page, f"survey-qr-phone-{locale}")

        page.click("#tab-results")
        page.wait_for_selector("#survey-results")
        assert text["results"] in page.content()
        assert page.locator("#result-rate").inner_text() == "0.0%"
        _fits(page)
    finally:
        context.close()
