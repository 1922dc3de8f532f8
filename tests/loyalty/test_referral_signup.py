"""The public referral door /r/<code>/: a friend signs up and is attributed to the referrer,
with the abuse guards; the page answers the same thanks whether or not a guard refused."""

from __future__ import annotations

import pytest

from retain.customers.models import Customer
from retain.loyalty.ledger import account_ensure
from retain.loyalty.models import Referral, ReferralStatus, ReferralVia
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referrer():
    owner = UserFactory(username="li")
    customer = CustomerFactory(name="老会员", phone="13800138000", owner=owner)
    account = account_ensure(customer)
    account.address = "上海市 徐汇区 漕溪北路 1号"
    account.device_id = "dev-ref"
    account.save()
    return customer


def sign_up(client, code, **data):
    return client.post(f"/r/{code}/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_a_friend_signs_up_and_is_attributed_to_the_referrer(client, referrer):
    code = referrer.loyalty.referral_code
    page = client.get(f"/r/{code.lower()}/")
    done = sign_up(client, code, name="王小明", phone="139 0000 1111", address="北京市朝阳区")

    assert page.status_code == 200 and 'id="referral-form"' in page.content.decode()
    assert done.status_code == 200 and 'data-state="thanks"' in done.content.decode()
    friend = Customer.objects.get(name="王小明")
    assert (friend.status, friend.kind, friend.owner) == ("prospect", "person", referrer.owner)
    referral = Referral.objects.get(referee=friend)
    assert (referral.referrer, referral.via, referral.status) == (
        referrer,
        ReferralVia.SIGNUP,
        ReferralStatus.PENDING,
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"phone": "+86 138-0013-8000"}, "same phone number as the referrer"),
        ({"address": "上海市徐汇区漕溪北路1号"}, "same address as the referrer"),
        ({"device": "dev-ref"}, "same device as the referrer"),
    ],
)
def test_each_guard_refuses_the_attribution_and_the_page_says_nothing(client, referrer, data, why):
    form = {"name": "张三", "phone": "13911112222", **data}

    done = sign_up(client, referrer.loyalty.referral_code, **form)

    assert 'data-state="thanks"' in done.content.decode()
    assert why not in done.content.decode()
    referral = Referral.objects.get(referee__name="张三")
    assert (referral.status, referral.refusal) == (ReferralStatus.REFUSED, why)


def test_a_second_friend_on_the_same_device_is_refused(client, referrer):
    code = referrer.loyalty.referral_code
    sign_up(client, code, name="甲", phone="13911110001", device="phone-x")
    sign_up(client, code, name="乙", phone="13911110002", device="phone-x")

    second = Referral.objects.get(referee__name="乙")
    assert second.refusal == "same device as another customer this referrer brought"


def test_an_unknown_code_and_missing_fields_are_answered(client, referrer):
    unknown = client.get("/r/NOPE1234/")
    missing = sign_up(client, referrer.loyalty.referral_code, name="", phone="12")

    assert unknown.status_code == 404
    assert missing.status_code == 422
    body = missing.content.decode()
    assert 'id="error-name"' in body and 'id="error-phone"' in body
    assert Referral.objects.count() == 0 and Customer.objects.count() == 1


def test_sign_ups_are_rate_limited_per_address(client, referrer, settings):
    settings.RETAIN_REFERRAL_RATE_LIMIT = 2
    from django.core.cache import cache

    cache.clear()
    code = referrer.loyalty.referral_code
    answers = [client.get(f"/r/{code}/").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    cache.clear()
