"""A promoter's thank-you page offers their referral code from the loyalty app (made by
``retain.loyalty.ledger.account_ensure``, the same code the loyalty panel shows); a passive
or a detractor is offered nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from retain.accounts.services import user_create
from retain.loyalty.ledger import loyalty_settings
from retain.loyalty.models import LoyaltyAccount
from retain.surveys.sending import invitation_link_make
from retain.surveys.templates_library import survey_from_template
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def setup(settings):
    settings.RETAIN_BASE_URL = "http://testserver"
    settings.RETAIN_SURVEY_RATE_LIMIT = 0
    with time_machine.travel(NOW, tick=False):
        yield


def _answer(client, survey, customer, actor, nps: int, language: str = "zh-hans") -> str:
    _invitation, url = invitation_link_make(
        survey=survey, customer=customer, actor=actor, language=language
    )
    nps_q = survey.questions.get(kind="nps")
    page = client.post(url.replace("http://testserver", ""), {f"q{nps_q.pk}": str(nps)})
    assert page.status_code == 200
    return page.content.decode()


def test_promoter_is_offered_their_referral_code(client):
    marketer = user_create(username="mk", password=PASSWORD, role="marketing")
    survey = survey_from_template(key="relationship_nps", actor=marketer)
    conf = loyalty_settings()
    conf.referrer_bonus, conf.referee_bonus = 300, 150
    conf.save()
    promoter, passive = CustomerFactory(name="王芳"), CustomerFactory(name="李雷")

    thanks = _answer(client, survey, promoter, marketer, nps=10)
    [account] = LoyaltyAccount.objects.filter(customer=promoter)
    assert f'id="survey-referral-code">{account.referral_code}</strong>' in thanks
    assert "推荐给朋友" in thanks and "您将获得 300 积分，您的朋友获得 150 积分" in thanks
    link = f"http://testserver/r/{account.referral_code}/"
    assert f'id="survey-referral-link" rel="noreferrer">{link}</a>' in thanks
    # the link is the loyalty app's sign-up door for that code
    assert client.get(f"/r/{account.referral_code}/").status_code == 200

    # the same customer answering again as a promoter gets the same code, not a new account
    again = _answer(client, survey, promoter, marketer, nps=9, language="en")
    assert f">{account.referral_code}</strong>" in again and "you receive 300 points" in again
    assert LoyaltyAccount.objects.filter(customer=promoter).count() == 1

    passive_page = _answer(client, survey, passive, marketer, nps=8)
    assert "survey-referral" not in passive_page
    assert not LoyaltyAccount.objects.filter(customer=passive).exists()
