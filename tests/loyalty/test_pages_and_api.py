"""Where loyalty shows: the customer page (balance, tier, privileges, history, coupons, the
redeem and adjust forms by role), the board's programme KPIs, and /api/v1/loyalty, in both
languages and permission-checked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.api.services import api_token_create
from retain.audit.models import AuditEvent
from retain.loyalty.coupons import coupon_create, coupon_issue
from retain.loyalty.ledger import points_balance, points_bonus
from retain.loyalty.models import CouponKind, EntryKind, IssueVia, PointsEntry
from retain.loyalty.tiers import tiers_evaluate
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "manager": user_create(username="mgr", password=PASSWORD, role=Role.MANAGER),
        "sales": user_create(username="s1", password=PASSWORD, role=Role.SALES),
        "other": user_create(username="s2", password=PASSWORD, role=Role.SALES),
        "analyst": user_create(username="an", password=PASSWORD, role=Role.ANALYST),
    }


@pytest.fixture
def member(people):
    today = timezone.localdate()
    customer = CustomerFactory(owner=people["sales"], name="金卡会员公司")
    OrderFactory(
        customer=customer,
        amount=Decimal(12000),
        ordered_at=timezone.now() - dt.timedelta(days=3),
        number="SO-GOLD-1",
    )
    tiers_evaluate(as_of=today)
    points_bonus(customer=customer, points=500, on=today, reason="welcome gift")
    made = coupon_create(
        code="gold-50",
        name="满300减50",
        kind=CouponKind.AMOUNT,
        value=Decimal(50),
        min_spend=Decimal(300),
        valid_from=today - dt.timedelta(days=10),
        valid_until=today + dt.timedelta(days=10),
    )
    coupon_issue(coupon=made, customer_ids=[customer.pk], via=IssueVia.MANUAL, on=today)
    return customer


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Membership", "Gold", "free shipping", "Points history"]),
        ("zh-hans", ["会员", "金卡", "包邮", "积分记录"]),
    ],
)
def test_the_customer_page_shows_the_membership_in_both_languages(
    client, people, member, lang, words
):
    client.force_login(people["sales"])
    client.cookies["django_language"] = lang

    page = client.get(f"/customers/{member.code}/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()

    for word in words:
        assert word in page
    assert 'id="points-balance"' in page and "500" in page
    assert "gold-50" in page
    assert 'id="points-redeem"' in page  # the owner may redeem
    assert 'id="points-adjust"' not in page  # but not adjust


def test_a_manager_adjusts_and_a_sales_rep_cannot(client, people, member):
    client.force_login(people["sales"])
    refused = client.post(f"/customers/{member.code}/points/adjust", {"points": 100, "reason": "x"})
    assert refused.status_code == 403
    assert points_balance(member) == 500

    client.force_login(people["manager"])
    client.post(
        f"/customers/{member.code}/points/adjust", {"points": -200, "reason": "double gift"}
    )

    assert points_balance(member) == 300
    event = AuditEvent.objects.filter(
        object_type="loyalty.pointsentry", actor=people["manager"]
    ).get()
    assert event.after["reason"] == "double gift"


def test_redeeming_on_the_page_beyond_the_balance_says_why(client, people, member):
    client.force_login(people["sales"])
    client.cookies["django_language"] = "en"

    response = client.post(
        f"/customers/{member.code}/points/redeem",
        {"points": 501, "what": "电饭煲"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "Only 500 points are available" in response.content.decode()
    assert points_balance(member) == 500
    client.post(f"/customers/{member.code}/points/redeem", {"points": 200, "what": "SO-GOLD-1"})
    entry = PointsEntry.objects.get(kind=EntryKind.REDEEM)
    assert (entry.points, entry.order.number) == (-200, "SO-GOLD-1")


def test_the_api_reads_and_writes_with_the_roles_rules(client, people, member):
    def auth(who):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=people[who], name='t')[1]}"}

    got = client.get(f"/api/v1/loyalty/customers/{member.code}", **auth("sales")).json()
    assert got["balance"] == 500
    assert got["tier"]["code"] == "gold"
    assert got["tier"]["free_shipping"] is True
    assert got["coupons"][0]["code"] == "gold-50"
    assert (
        client.get(f"/api/v1/loyalty/customers/{member.code}", **auth("other")).status_code == 404
    )

    spent = client.post(
        f"/api/v1/loyalty/customers/{member.code}/redeem",
        {"points": 120, "order": "SO-GOLD-1"},
        content_type="application/json",
        **auth("sales"),
    )
    assert spent.status_code == 201 and spent.json()["balance"] == 380
    too_much = client.post(
        f"/api/v1/loyalty/customers/{member.code}/redeem",
        {"points": 381, "reward": "电视"},
        content_type="application/json",
        **auth("sales"),
    )
    assert too_much.status_code == 422
    adjust = client.post(
        f"/api/v1/loyalty/customers/{member.code}/adjust",
        {"points": 10, "reason": "x"},
        content_type="application/json",
        **auth("sales"),
    )
    assert adjust.status_code == 403
    assert points_balance(member) == 380

    used = client.post(
        f"/api/v1/loyalty/customers/{member.code}/coupons/gold-50/redeem",
        {"order": "SO-GOLD-1"},
        content_type="application/json",
        **auth("sales"),
    )
    assert used.status_code == 201 and used.json()["discount"] == "50.00"


def test_the_board_and_the_api_give_the_programme_kpis_by_scope(client, people, member):
    CustomerFactory(owner=people["other"])
    stranger = CustomerFactory(owner=people["other"])
    points_bonus(customer=stranger, points=1000, on=timezone.localdate(), reason="x")

    token = api_token_create(user=people["analyst"], name="t")[1]
    everyone = client.get("/api/v1/loyalty/kpis", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    token = api_token_create(user=people["sales"], name="t")[1]
    mine = client.get("/api/v1/loyalty/kpis", HTTP_AUTHORIZATION=f"Bearer {token}").json()

    assert everyone["points_outstanding"] == 1500
    assert everyone["liability"] == "15.00"
    assert mine["points_outstanding"] == 500
    assert mine["tier_distribution"]["gold"] == 1
    assert mine["coupons_issued"] == 1 and mine["coupon_redemption"] == 0.0

    client.force_login(people["analyst"])
    for lang, word in (("en", "Points liability"), ("zh-hans", "积分负债")):
        client.cookies["django_language"] = lang
        page = client.get("/", HTTP_ACCEPT_LANGUAGE=lang)
        assert word in page.content.decode()


def test_the_customer_list_and_the_api_list_filter_by_tier_and_balance(client, people, member):
    plain = CustomerFactory(owner=people["sales"], name="普通客户")
    rich = CustomerFactory(owner=people["sales"], name="积分大户")
    points_bonus(customer=rich, points=900, on=timezone.localdate(), reason="gift")
    client.force_login(people["manager"])

    def listed(query: str) -> set[str]:
        page = client.get(f"/customers/?{query}").content.decode()
        return {c.name for c in (member, plain, rich) if c.name in page}

    assert listed("tier=gold") == {"金卡会员公司"}
    assert listed("points_min=600") == {"积分大户"}
    assert listed("points_max=600") == {"金卡会员公司", "普通客户"}
    assert listed("tier=gold&tier=silver&points_min=100") == {"金卡会员公司"}
    page = client.get("/customers/").content.decode()
    assert 'id="filter-tier"' in page and 'id="filter-points_min"' in page

    token = api_token_create(user=people["manager"], name="t")[1]

    def api(query: str) -> set[str]:
        got = client.get(f"/api/v1/customers?{query}", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert got.status_code == 200
        return {row["name"] for row in got.json()["items"]}

    assert api("tier=gold") == {"金卡会员公司"}
    assert api("points_min=600") == {"积分大户"}
    assert api("tier=regular,silver") == set()
    assert api("points_max=0") == {"普通客户"}
