"""A customer answers a survey on a phone (390x844, no login) in a real Chromium, in both
languages, from the link a real SMTP server (aiosmtpd) and a webhook receiver received: the
replayed form is refused, the detractor's answer opens exactly one service case, and the
board's NPS moves."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from retain.accounts.services import user_create
from retain.customers.services import consent_set
from retain.kpis.figures import survey_figures
from retain.surveys.models import SurveyResponse
from retain.surveys.sending import survey_send
from retain.surveys.templates_library import survey_from_template
from retain.tasks.models import Task
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "zh-hans": {
        "dear": "尊敬的王芳",
        "thanks": "谢谢",
        "used": "此调查已经回答过了",
        "submit": "提交我的回答",
    },
    "en": {
        "dear": "Dear 王芳",
        "thanks": "Thank you",
        "used": "This survey has already been answered",
        "submit": "Send my answers",
    },
}


def _answer(page, url: str, score: int, why: str, language: str) -> None:
    page.goto(url)
    page.locator(f"label.scale-point:has(input[value='{score}'])").first.click()
    page.locator("textarea").fill(why)
    page.get_by_role("button", name=TEXTS[language]["submit"]).click()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_customer_answers_on_a_phone_from_mail_and_webhook(
    browser,
    live_server,
    smtp,
    hook,
    huey_immediate,
    settings,
    language,
):
    settings.RETAIN_BASE_URL = live_server.url
    settings.RETAIN_SURVEY_RATE_LIMIT = 0
    settings.RETAIN_QUIET_HOURS = (
        dt.time(0, 0),
        dt.time(0, 0),
    )
    hook_url, received = hook.url, hook.received
    marketer = user_create(username="mk", password=PASSWORD, role="marketing")
    service = user_create(username="svc", password=PASSWORD, role="service")
    user_create(username="boss", password=PASSWORD, role="manager")
    survey = survey_from_template(key="relationship_nps", actor=marketer)
    by_mail, by_hook = CustomerFactory(name="某某公司"), CustomerFactory(name="另一家公司")
    ContactFactory(customer=by_mail, name="王芳", email="wf@example.com", is_primary=True)
    ContactFactory(customer=by_hook, name="李雷", phone="13800000001", is_primary=True)
    for customer in (by_mail, by_hook):
        for channel in ("email", "wechat"):
            consent_set(customer=customer, channel=channel, granted=True, source="form")

    survey_send(
        survey=survey, customers=[by_mail], channel="email", actor=marketer, language=language
    )
    survey_send(
        survey=survey,
        customers=[by_hook],
        channel="webhook",
        actor=marketer,
        language=language,
        webhook_url=hook_url,
    )
    [mail] = smtp.wait_for(1)
    body = mail.get_payload(decode=True).decode()
    mail_url = re.search(r"http://\S+/s/[A-Za-z0-9_-]+/", body).group(0)
    [posted] = received
    assert survey_figures(as_of=dt.date.today()).overall.nps is None

    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN" if language == "zh-hans" else "en-US",
        java_script_enabled=False,  # the page works without JavaScript
    )
    page, stale = context.new_page(), context.new_page()
    try:
        stale.goto(mail_url)  # the same form open twice: the second submission is a replay
        page.goto(mail_url)
        assert TEXTS[language]["dear"] in page.content()
        assert "某某公司" not in page.content()  # nothing beyond the greeting name
        # nothing overflows the phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, f"survey-phone-{language}")
        _answer(
            page, mail_url, 2, "送货太慢" if language == "zh-hans" else "Slow delivery", language
        )
        page.wait_for_selector("#survey-thanks")
        assert TEXTS[language]["thanks"] in page.locator("h1").inner_text()

        stale.locator("label.scale-point:has(input[value='10'])").first.click()
        stale.get_by_role("button", name=TEXTS[language]["submit"]).click()
        stale.wait_for_selector("#survey-state[data-state=used]")
        assert TEXTS[language]["used"] in stale.content()
        page.goto(mail_url)
        assert page.locator("#survey-state").get_attribute("data-state") == "used"

        answer = SurveyResponse.objects.get(customer=by_mail)
        assert answer.nps == 2
        [case] = Task.objects.filter(customer=by_mail)
        assert case.owner == service and case.key == f"survey:{answer.pk}"
        today = dt.date.today()
        assert survey_figures(as_of=today).overall.nps == -100.0

        _answer(page, posted["url"], 10, "好" if language == "zh-hans" else "Good", language)
        page.wait_for_selector("#survey-thanks")
        assert SurveyResponse.objects.count() == 2
        assert Task.objects.count() == 1  # a promoter opens no case
        assert survey_figures(as_of=today).overall.nps == 0.0
    finally:
        context.close()

    board = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    manager = board.new_page()
    manager.set_default_timeout(30_000)
    try:
        manager.goto(f"{live_server.url}/")
        manager.fill("#id_username", "boss")
        manager.fill("#id_password", PASSWORD)
        manager.click("button[type=submit]")
        manager.wait_for_selector("#survey-nps")
        assert manager.locator("#survey-nps").inner_text().startswith("0.0")
        assert "100.0%" in manager.locator("#survey-response-rate").inner_text()
    finally:
        board.close()
