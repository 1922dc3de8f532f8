"""The survey pages of the app through the Django test client: the builder (every kind of
question, both languages, from a template), sending to a segment (the preview counted by the
sending rule, then the background job with its progress, delivered to a real SMTP server),
the link and QR code (SVG and PNG), the rules that send by themselves, and the results.
Permissions from the access policy; every write audited."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.customers.services import consent_set
from retain.playbooks.models import Segment
from retain.surveys.models import (
    SendStatus,
    Survey,
    SurveyInvitation,
    SurveySend,
    SurveyTrigger,
)
from retain.surveys.sending import survey_send
from retain.surveys.templates_library import survey_from_template
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def setup(settings):
    settings.RETAIN_BASE_URL = "http://testserver"
    settings.RETAIN_SURVEY_RATE_LIMIT = 0
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def marketer(db):
    return user_create(username="mk", password=PASSWORD, role="marketing")


def _login(client, user) -> None:
    client.force_login(user)


def _questions(rows: list[dict]) -> dict[str, str]:
    data = {
        "q-TOTAL_FORMS": str(len(rows)),
        "q-INITIAL_FORMS": "0",
        "q-MIN_NUM_FORMS": "0",
        "q-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"q-{i}-{key}"] = value
    return data


EVERY_KIND = [
    {"kind": "nps", "text_zh": "推荐吗？", "text_en": "Recommend us?", "required": "on"},
    {"kind": "csat", "text_zh": "满意吗？", "text_en": "Satisfied?", "required": "on"},
    {"kind": "ces", "text_zh": "方便吗？", "text_en": "Easy?"},
    {
        "kind": "single",
        "text_zh": "解决了吗？",
        "text_en": "Solved?",
        "choices_zh": "是\n否",
        "choices_en": "Yes\nNo",
    },
    {
        "kind": "multiple",
        "text_zh": "为什么？",
        "text_en": "Why?",
        "choices_zh": "价格\n质量\n服务",
        "choices_en": "Price\nQuality\nService",
    },
    {"kind": "text", "text_zh": "建议", "text_en": "Suggestions"},
    {"kind": "nps", "text_zh": "", "text_en": ""},  # an empty extra row: ignored
]


def _survey_fields(name: str = "门店调研") -> dict[str, str]:
    return {
        "name": name,
        "title_zh": "门店体验",
        "title_en": "Your visit",
        "thank_you_zh": "谢谢您！",
        "thank_you_en": "Thank you!",
        "valid_days": "10",
    }


def test_marketing_builds_a_survey_of_every_kind(client, marketer):
    _login(client, marketer)
    assert client.get("/surveys/new/").status_code == 200

    page = client.post("/surveys/new/", {**_survey_fields(), **_questions(EVERY_KIND)})

    survey = Survey.objects.get(name="门店调研")
    assert page.status_code == 302 and page["Location"] == f"/surveys/{survey.pk}/"
    kinds = list(survey.questions.order_by("position").values_list("kind", "required"))
    assert kinds == [
        ("nps", True),
        ("csat", True),
        ("ces", False),
        ("single", False),
        ("multiple", False),
        ("text", False),
    ]
    multiple = survey.questions.get(kind="multiple")
    assert multiple.choices("en") == ["Price", "Quality", "Service"]
    assert (survey.thank_you("zh-hans"), survey.valid_days) == ("谢谢您！", 10)
    event = AuditEvent.objects.get(object_type="surveys.survey", action="create")
    assert event.actor == marketer and len(event.after["questions"]) == 6

    # an edit that breaks a rule changes nothing and says why
    nps = survey.questions.get(kind="nps")
    bad = client.post(
        f"/surveys/{survey.pk}/",
        {
            **_survey_fields("改名"),
            **_questions(
                [
                    {
                        "pk": str(nps.pk),
                        "kind": "nps",
                        "text_zh": "推荐吗？",
                        "text_en": "Recommend?",
                    },
                    {
                        "kind": "single",
                        "text_zh": "选",
                        "text_en": "Pick",
                        "choices_zh": "是",
                        "choices_en": "Yes\nNo",
                    },
                ]
            ),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 200 and "at least two choices" in bad.content.decode()
    survey.refresh_from_db()
    assert survey.name == "门店调研" and survey.questions.count() == 6

    # removing a question and renaming works and is audited with before and after
    rows = [
        {
            "pk": str(q.pk),
            "kind": q.kind,
            "text_zh": q.text_zh,
            "text_en": q.text_en,
            "choices_zh": q.choices_zh,
            "choices_en": q.choices_en,
            "required": "on",
        }
        for q in survey.questions.order_by("position")
    ]
    rows[-1]["DELETE"] = "on"
    done = client.post(
        f"/surveys/{survey.pk}/", {**_survey_fields("门店调研 2"), **_questions(rows)}
    )
    assert done.status_code == 302
    survey.refresh_from_db()
    assert survey.name == "门店调研 2" and survey.questions.count() == 5
    update = AuditEvent.objects.get(object_type="surveys.survey", action="update")
    assert update.before["name"] == "门店调研" and update.after["name"] == "门店调研 2"


def test_from_template_and_who_may_do_what(client, marketer):
    sales = user_create(username="s1", password=PASSWORD, role="sales")
    service = user_create(username="svc", password=PASSWORD, role="service")
    _login(client, marketer)
    made = client.post("/surveys/from-template/", {"template": "relationship_nps"})
    again = client.post("/surveys/from-template/", {"template": "relationship_nps"})
    names = sorted(Survey.objects.values_list("name", flat=True))
    assert names == ["Quarterly relationship NPS", "Quarterly relationship NPS (2)"]
    survey = Survey.objects.get(name="Quarterly relationship NPS")
    assert made["Location"] == f"/surveys/{survey.pk}/" and again.status_code == 302

    listing = client.get("/surveys/").content.decode()
    assert 'id="survey-new"' in listing and f"/surveys/{survey.pk}/send/" in listing

    client.force_login(sales)
    assert client.get("/surveys/").status_code == 200  # sales see the surveys
    assert 'id="survey-new"' not in client.get("/surveys/").content.decode()
    assert client.get(f"/surveys/{survey.pk}/").status_code == 403
    assert client.post("/surveys/from-template/", {"template": "churned"}).status_code == 403
    assert client.get(f"/surveys/{survey.pk}/send/").status_code == 403
    assert client.get(f"/surveys/{survey.pk}/link/").status_code == 403

    assert client.post(f"/surveys/{survey.pk}/when/", {"event": "order_paid"}).status_code == 403
    assert Survey.objects.count() == 2 and SurveyTrigger.objects.count() == 0

    # service: the QR code at the counter, the results, and its own surveys (the one after a
    # complaint is closed), sent by an event; a segment send needs the segments it cannot see
    client.force_login(service)
    assert client.get(f"/surveys/{survey.pk}/link/").status_code == 200
    assert client.get(f"/surveys/{survey.pk}/results/").status_code == 200
    assert client.get(f"/surveys/{survey.pk}/send/").status_code == 403
    assert 'id="survey-new"' in client.get("/surveys/").content.decode()
    made = client.post("/surveys/from-template/", {"template": "complaint_closed"})
    closed = Survey.objects.exclude(name__startswith="Quarterly").get()
    assert made["Location"] == f"/surveys/{closed.pk}/"
    assert client.get(f"/surveys/{closed.pk}/").status_code == 200
    rule = {"event": "complaint_closed", "delay_days": "1", "every_months": "3"}
    rule |= {"channel": "email", "language": "zh-hans", "active": "on"}
    assert client.post(f"/surveys/{closed.pk}/when/", rule).status_code == 302
    trigger = SurveyTrigger.objects.get()
    assert (trigger.survey, trigger.event) == (closed, "complaint_closed")
    made_by_service = AuditEvent.objects.filter(object_type="surveys.survey", actor=service)
    assert made_by_service.filter(action="create").count() == 1


def _customer(email: str, consent: bool = True):
    customer = CustomerFactory(name=f"客户 {email}", code=f"C-{email[:2]}")
    ContactFactory(customer=customer, name="王芳", email=email, is_primary=True)
    if consent:
        consent_set(customer=customer, channel="email", granted=True, source="form", at=NOW)
    return customer


def test_send_to_a_segment_preview_then_job_with_progress(
    client, marketer, smtp, huey_immediate, django_capture_on_commit_callbacks
):
    survey = survey_from_template(key="after_purchase", actor=marketer)
    segment = Segment.objects.create(name="all", conditions={"all": []})
    asked, recently, _no_consent = (
        _customer("a1@example.com"),
        _customer("b1@example.com"),
        _customer("c1@example.com", consent=False),
    )
    with django_capture_on_commit_callbacks(execute=True):
        survey_send(survey=survey, customers=[recently], channel="email", actor=marketer)
    smtp.wait_for(1)
    _login(client, marketer)
    form = {"segment": str(segment.pk), "channel": "email", "language": "en"}

    preview = client.post(f"/surveys/{survey.pk}/send/", {**form, "action": "preview"})
    html = preview.content.decode()
    figures = {
        key: re.search(rf'id="preview-{key}">(?:<strong>)?(\d+)', html).group(1)
        for key in ("total", "invited", "consent", "capped", "no-address")
    }
    assert figures == {
        "total": "3",
        "invited": "1",
        "consent": "1",
        "capped": "1",
        "no-address": "0",
    }
    assert SurveyInvitation.objects.count() == 1 and SurveySend.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/surveys/{survey.pk}/send/", {**form, "action": "send"})
    send = SurveySend.objects.get()
    assert sent["Location"] == f"/surveys/sends/{send.pk}/"
    assert (send.status, send.total, send.processed, send.invited) == (SendStatus.DONE, 3, 3, 1)
    assert (send.without_consent, send.capped) == (1, 1)
    mails = smtp.wait_for(2)
    assert [m["X-Rcpt-To"] for m in mails] == ["b1@example.com", "a1@example.com"]
    assert SurveyInvitation.objects.get(customer=asked).language == "en"
    progress = client.get(f"/surveys/sends/{send.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="done"' in progress and "hx-trigger" not in progress
    assert 'id="send-invited">1<' in progress
    assert AuditEvent.objects.filter(object_type="surveys.surveysend", actor=marketer).count() == 1

    # the webhook channel needs its gateway: refused, nothing queued
    refused = client.post(
        f"/surveys/{survey.pk}/send/", {**form, "channel": "webhook", "action": "send"}
    )
    assert refused.status_code == 200 and SurveySend.objects.count() == 1


def test_link_and_qr_code_in_svg_and_png(client, marketer):
    survey = survey_from_template(key="after_purchase", actor=marketer)
    customer = CustomerFactory(name="李雷", code="C-QR")
    _login(client, marketer)

    page = client.post(f"/surveys/{survey.pk}/link/", {"customer": "C-QR", "language": "en"})

    html = page.content.decode()
    assert page["Cache-Control"] == "no-store"
    url = re.search(r'id="survey-link-url">(http://testserver/s/[^<]+)<', html).group(1)
    assert client.get(url.replace("http://testserver", "")).status_code == 200
    png = base64.b64decode(re.search(r'data:image/png;base64,([^"]+)"', html).group(1))
    svg = base64.b64decode(re.search(r'data:image/svg\+xml;base64,([^"]+)"', html).group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and svg.decode().startswith("<svg")
    assert "<svg" in html  # shown on the page too
    invitation = SurveyInvitation.objects.get()
    assert (invitation.customer, invitation.channel, invitation.language) == (
        customer,
        "link",
        "en",
    )
    assert AuditEvent.objects.filter(object_type="surveys.surveyinvitation").count() == 1
    unknown = client.post(f"/surveys/{survey.pk}/link/", {"customer": "NOPE", "language": "en"})
    assert unknown.status_code == 200 and SurveyInvitation.objects.count() == 1


def test_rules_that_send_by_themselves_are_validated_and_audited(client, marketer):
    survey = survey_from_template(key="relationship_nps", actor=marketer)
    segment = Segment.objects.create(name="all", conditions={"all": []})
    _login(client, marketer)
    base = {
        "delay_days": "3",
        "every_months": "3",
        "channel": "email",
        "language": "zh-hans",
        "active": "on",
    }

    no_segment = client.post(f"/surveys/{survey.pk}/when/", {**base, "event": "schedule"})
    assert no_segment.status_code == 200 and SurveyTrigger.objects.count() == 0
    client.post(f"/surveys/{survey.pk}/when/", {**base, "event": "order_paid"})
    client.post(
        f"/surveys/{survey.pk}/when/", {**base, "event": "schedule", "segment": str(segment.pk)}
    )

    after_order, quarterly = SurveyTrigger.objects.order_by("pk")
    assert (after_order.event, after_order.delay_days, after_order.next_run_on) == (
        "order_paid",
        3,
        None,
    )
    assert (quarterly.segment, quarterly.next_run_on) == (segment, dt.date(2026, 11, 2))
    assert AuditEvent.objects.filter(object_type="surveys.surveytrigger").count() == 2
    page = client.get(f"/surveys/{survey.pk}/when/").content.decode()
    assert page.count("<tr>") == 3  # the header and two rules
