"""Surveys sent by e-mail (real SMTP) and webhook, answered through the public page by the
Django test client: consent, frequency cap, quiet hours, single use, forged and expired links,
the follow-up task (once per answer, whichever door), reminders once, the QR code."""

from __future__ import annotations

import datetime as dt
import re
from email.header import decode_header, make_header

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from retain.accounts.services import user_create
from retain.customers.services import consent_set
from retain.surveys.models import SurveyInvitation, SurveyResponse
from retain.surveys.sending import (
    invitation_link_make,
    qr_svg,
    reminders_send,
    survey_send,
)
from retain.surveys.services import answers_follow_up_open_bulk
from retain.surveys.templates_library import survey_from_template
from retain.tasks.models import Task
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai: outside quiet hours
LINK = re.compile(r"http://testserver/s/([A-Za-z0-9_-]+)/")


@pytest.fixture
def marketer(db):
    return user_create(username="mk", password=PASSWORD, role="marketing")


@pytest.fixture
def service_user(db):
    return user_create(username="svc", password=PASSWORD, role="service")


def _customer(email: str, consent: bool = True, name: str = "王芳"):
    customer = CustomerFactory(name="上海某某贸易有限公司", code=f"C-{email[:3]}")
    ContactFactory(customer=customer, name=name, email=email, is_primary=True)
    if consent:
        consent_set(customer=customer, channel="email", granted=True, source="form", at=NOW)
        consent_set(customer=customer, channel="wechat", granted=True, source="form", at=NOW)
    return customer


def _send(**kwargs):
    """survey_send, then the jobs it queues after commit (the test's transaction never
    commits, so they are run here as the commit would)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return survey_send(**kwargs)


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _link(message) -> str:
    body = message.get_payload(decode=True).decode()
    return LINK.search(body).group(1)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.RETAIN_BASE_URL = "http://testserver"
    settings.RETAIN_SURVEY_RATE_LIMIT = 0


def test_send_answer_once_and_one_case(client, smtp, huey_immediate, marketer, service_user):
    survey = survey_from_template(key="relationship_nps", actor=marketer)
    asked, no_consent = _customer("a@example.com"), _customer("b@example.com", consent=False)

    with time_machine.travel(NOW, tick=False):
        result = _send(
            survey=survey, customers=[asked, no_consent], channel="email", actor=marketer
        )
        again = _send(survey=survey, customers=[asked], channel="email", actor=marketer)

    assert (result.invited, result.without_consent, again.invited, again.capped) == (1, 1, 0, 1)
    [mail] = smtp.wait_for(1)
    assert mail["X-Rcpt-To"] == "a@example.com"
    assert _subject(mail) == "您会向朋友推荐我们吗？"  # the survey's Chinese title
    token = _link(mail)
    invitation = SurveyInvitation.objects.get()
    assert invitation.token_hash != token and len(invitation.token_hash) == 64

    page = client.get(f"/s/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "王芳" in html and "上海某某贸易有限公司" not in html and asked.code not in html
    assert page["Content-Language"] == "zh-hans"
    nps, why = survey.questions.order_by("position")

    missing = client.post(f"/s/{token}/", {f"q{why.pk}": "太贵了"})
    assert missing.status_code == 400 and "请回答这个问题" in missing.content.decode()
    assert SurveyResponse.objects.count() == 0

    done = client.post(f"/s/{token}/", {f"q{nps.pk}": "3", f"q{why.pk}": "太贵了"})
    assert done.status_code == 200 and "谢谢" in done.content.decode()
    replay = client.post(f"/s/{token}/", {f"q{nps.pk}": "10", f"q{why.pk}": "改主意了"})
    assert replay.status_code == 410 and "已经回答" in replay.content.decode()
    assert client.get(f"/s/{token}/").status_code == 410

    answer = SurveyResponse.objects.get()
    assert (answer.nps, answer.comment, answer.customer) == (3, "太贵了", asked)
    assert answer.invitation == invitation
    [task] = Task.objects.filter(customer=asked)
    assert (task.key, task.owner) == (f"survey:{answer.pk}", service_user)
    # the bulk rule imports use does not open a second one
    assert answers_follow_up_open_bulk(responses=[answer], now=NOW) == 0
    assert Task.objects.filter(customer=asked).count() == 1


def test_forged_and_expired_links_answer_nothing(client, smtp, huey_immediate, marketer):
    survey = survey_from_template(key="after_purchase", actor=marketer)
    customer = _customer("c@example.com")
    with time_machine.travel(NOW, tick=False):
        _send(survey=survey, customers=[customer], channel="email", actor=marketer)
    token = _link(smtp.wait_for(1)[0])
    csat = survey.questions.get(kind="csat")

    forged = client.post(f"/s/{token[:-2]}xx/", {f"q{csat.pk}": "1"})
    assert forged.status_code == 404 and "链接无效" in forged.content.decode()
    SurveyInvitation.objects.update(expires_at=NOW)
    expired = client.post(f"/s/{token}/", {f"q{csat.pk}": "1"})
    assert expired.status_code == 410
    assert SurveyResponse.objects.count() == 0 and Task.objects.count() == 0


def test_unhappy_satisfaction_opens_a_case_in_english(client, smtp, huey_immediate, marketer):
    survey = survey_from_template(key="complaint_closed", actor=marketer)
    customer = _customer("d@example.com", name="Alice")
    with time_machine.travel(NOW, tick=False):
        _send(survey=survey, customers=[customer], channel="email", actor=marketer, language="en")
    mail = smtp.wait_for(1)[0]
    assert _subject(mail) == "How did we handle your complaint?"
    token = _link(mail)
    csat, solved, text = survey.questions.order_by("position")

    page = client.get(f"/s/{token}/")
    assert "Dear Alice" in page.content.decode() and page["Content-Language"] == "en"
    wrong = client.post(f"/s/{token}/", {f"q{csat.pk}": "9", f"q{solved.pk}": "No"})
    assert wrong.status_code == 400 and "from 1 to 5" in wrong.content.decode()
    client.post(f"/s/{token}/", {f"q{csat.pk}": "2", f"q{solved.pk}": "No", f"q{text.pk}": "Slow"})

    answer = SurveyResponse.objects.get()
    assert (answer.satisfaction, answer.answers[str(solved.pk)]) == (2, "No")
    [task] = Task.objects.filter(customer=customer)
    assert "unhappy" in task.title


def test_quiet_hours_wait_webhook_delivers_reminder_once(
    client, hook, huey_immediate, marketer, settings
):
    url, received = hook.url, hook.received
    survey = survey_from_template(key="after_purchase", actor=marketer)
    customer = _customer("e@example.com")
    night = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai

    with time_machine.travel(night, tick=False):
        _send(
            survey=survey, customers=[customer], channel="webhook", actor=marketer, webhook_url=url
        )
    invitation = SurveyInvitation.objects.get()
    assert invitation.send_after > night and invitation.sent_at is None and received == []

    from retain.surveys.sending import invitation_send

    morning = invitation.send_after
    invitation_send(invitation_id=invitation.pk, now=morning)  # what the scheduled job runs
    assert len(received) == 1 and received[0]["to"].startswith("138")
    first = received[0]["url"]

    later = morning + dt.timedelta(days=4)
    assert reminders_send(now=later) == 1
    assert reminders_send(now=later + dt.timedelta(days=1)) == 0
    assert len(received) == 2
    # the reminder's link replaces the first one
    assert client.get(first.replace("http://testserver", "")).status_code == 404
    assert client.get(received[1]["url"].replace("http://testserver", "")).status_code == 200


def test_qr_link_needs_the_permission_and_rate_limit(client, marketer, settings):
    survey = survey_from_template(key="after_purchase", actor=marketer)
    customer = CustomerFactory(name="李雷")
    sales = user_create(username="s1", password=PASSWORD, role="sales")
    with pytest.raises(PermissionDenied):
        invitation_link_make(survey=survey, customer=customer, actor=sales)

    _invitation, url = invitation_link_make(survey=survey, customer=customer, actor=marketer)
    svg = qr_svg(url)
    assert svg.startswith("<svg") and "path" in svg

    settings.RETAIN_SURVEY_RATE_LIMIT = 3
    path = url.replace("http://testserver", "")
    codes = [client.get(path).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_cli_sends_a_template_survey_to_a_segment(smtp, huey_immediate, marketer, transactional_db):
    from typer.testing import CliRunner

    from retain.cli import app
    from retain.playbooks.models import Segment

    Segment.objects.create(name="everyone", conditions={"all": []})
    _customer("f@example.com")
    _customer("g@example.com", consent=False)

    result = CliRunner().invoke(
        app,
        [
            "survey-send",
            "--as",
            "mk",
            "--segment",
            "everyone",
            "--survey",
            "Q4 NPS",
            "--template",
            "relationship_nps",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Invited 1; without consent 1" in result.output
    assert [m["X-Rcpt-To"] for m in smtp.wait_for(1)] == ["f@example.com"]
    assert SurveyInvitation.objects.get().survey.questions.count() == 2
