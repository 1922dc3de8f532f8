"""An answer entered or corrected in the admin is followed up at once by the rule every door
uses (surveys.services.answer_follow_up_open), without waiting for the daily catch-up."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.surveys.models import Survey, SurveyResponse
from retain.tasks.models import Task
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _form(customer, survey, nps: int) -> dict[str, object]:
    return {
        "customer": customer.pk,
        "survey": survey.pk,
        "sent_at_0": "2026-11-02",
        "sent_at_1": "09:00:00",
        "answered_at_0": "2026-11-03",
        "answered_at_1": "10:00:00",
        "nps": nps,
        "comment": "太慢",
        "answers": "{}",
    }


def test_an_answer_entered_or_corrected_in_the_admin_gets_its_call_back_once(client, admin_user):
    customer = CustomerFactory(code="C1", name="一号")
    survey = Survey.objects.create(name="NPS 年度调研")
    client.force_login(admin_user)

    added = client.post(reverse("admin:surveys_surveyresponse_add"), _form(customer, survey, nps=9))
    assert added.status_code == 302, added.content.decode()[:2000]
    answer = SurveyResponse.objects.get()
    assert not Task.objects.exists()  # a promoter: nothing to call back

    changed = client.post(
        reverse("admin:surveys_surveyresponse_change", args=[answer.pk]),
        _form(customer, survey, nps=3),
    )
    again = client.post(
        reverse("admin:surveys_surveyresponse_change", args=[answer.pk]),
        _form(customer, survey, nps=2),
    )

    assert changed.status_code == again.status_code == 302
    task = Task.objects.get()
    assert (task.key, task.customer) == (f"survey:{answer.pk}", customer)
    assert "一号" in task.title
