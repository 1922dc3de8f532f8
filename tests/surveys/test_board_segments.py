"""The board's survey figures by the company's saved segments (the playbooks app's segments):
answers, NPS, CSAT and response rate of each segment's members, shown on the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.accounts.services import user_create
from retain.kpis.figures import survey_figures
from retain.playbooks.models import Segment
from retain.surveys.models import Survey, SurveyInvitation, SurveyResponse
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 10, 20, 2, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 11, 1)


def _asked(survey, customer, *, nps=None, satisfaction=None):
    response = None
    if nps is not None or satisfaction is not None:
        response = SurveyResponse.objects.create(
            customer=customer,
            survey=survey,
            sent_at=SENT,
            answered_at=SENT + dt.timedelta(hours=3),
            nps=nps,
            satisfaction=satisfaction,
        )
    SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        channel="email",
        created_at=SENT,
        send_after=SENT,
        sent_at=SENT,
        expires_at=SENT + dt.timedelta(days=14),
        response=response,
    )


def test_figures_by_saved_segment_and_on_the_board(client):
    survey = Survey.objects.create(name="NPS")
    shanghai = [CustomerFactory(city="上海") for _ in range(3)]
    beijing = CustomerFactory(city="北京")
    _asked(survey, shanghai[0], nps=10, satisfaction=5)
    _asked(survey, shanghai[1], nps=3)
    _asked(survey, shanghai[2])  # not answered
    _asked(survey, beijing, nps=9, satisfaction=2)
    Segment.objects.create(
        name="上海客户", conditions={"all": [{"field": "city", "op": "eq", "value": "上海"}]}
    )
    Segment.objects.create(name="全部", conditions={"all": []})

    figures = survey_figures(as_of=AS_OF)

    groups = {
        g.label: (g.invited, g.answered_invitations, g.answers, g.nps, g.csat)
        for g in figures.by_saved_segment
    }
    assert groups == {
        "上海客户": (3, 2, 2, 0.0, 100.0),  # one promoter, one detractor; CSAT 5
        "全部": (4, 3, 3, 100 * (2 - 1) / 3, 50.0),
    }
    [shanghai_group, _all] = figures.by_saved_segment
    assert shanghai_group.response_rate == pytest.approx(200 / 3)

    manager = user_create(username="mgr", password=PASSWORD, role="manager")
    client.force_login(manager)
    board = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    table = board.split('id="survey-by-saved-segment"')[1].split("</table>")[0]
    assert "上海客户" in table and "66.7%" in table and "(2/3)" in table
