"""The coupon pages and the settings page: make a coupon, issue it to a segment or to
customers, see its uses; settings and tiers edited by managers and administrators; audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.accounts.models import Role
from retain.accounts.services import user_create
from retain.audit.models import AuditEvent
from retain.loyalty.coupons import coupon_redeem
from retain.loyalty.ledger import loyalty_settings
from retain.loyalty.models import Coupon, CouponIssue, IssueVia, Tier
from retain.playbooks.models import Segment
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        role: user_create(username=role, password=PASSWORD, role=role)
        for role in (Role.MARKETING, Role.MANAGER, Role.SALES)
    }


def coupon_form(**over):
    today = timezone.localdate()
    form = {
        "code": "winback-30",
        "name": "回归礼 满200减30",
        "kind": "amount",
        "value": "30",
        "min_spend": "200",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=30)).isoformat(),
        "per_customer_limit": "1",
        "tier": "",
    }
    form.update(over)
    return form


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_marketing_makes_issues_and_follows_a_coupon(client, people, lang):
    client.force_login(people[Role.MARKETING])
    client.cookies["django_language"] = lang
    north = [CustomerFactory(region="华北") for _ in range(2)]
    single = CustomerFactory(code="C9001")
    segment = Segment.objects.create(
        name="north", conditions={"all": [{"field": "region", "op": "eq", "value": "华北"}]}
    )

    bad = client.post("/loyalty/coupons/", coupon_form(kind="percent", value="120"))
    made = client.post("/loyalty/coupons/", coupon_form())
    coupon = Coupon.objects.get()
    to_segment = client.post(f"/loyalty/coupons/{coupon.pk}/", {"segment": segment.pk})
    unknown = client.post(f"/loyalty/coupons/{coupon.pk}/", {"customers": "C9001, C404"})
    by_code = client.post(f"/loyalty/coupons/{coupon.pk}/", {"customers": "c9001"})
    order = OrderFactory(customer=single, amount=Decimal(250), number="SO-W1")
    coupon_redeem(customer=single, code="winback-30", order=order, on=timezone.localdate())
    detail = client.get(f"/loyalty/coupons/{coupon.pk}/").content.decode()
    listing = client.get("/loyalty/coupons/").content.decode()

    assert bad.status_code == 422 and Coupon.objects.count() == 1
    assert made.status_code == 302 and to_segment.status_code == 302
    assert unknown.status_code == 422 and "C404" in unknown.content.decode()
    assert by_code.status_code == 302
    assert {(i.customer_id, i.via) for i in CouponIssue.objects.all()} == {
        *((c.pk, IssueVia.SEGMENT) for c in north),
        (single.pk, IssueVia.MANUAL),
    }
    assert "SO-W1" in detail and 'id="coupon-redemptions"' in detail
    assert 'data-code="winback-30"' in listing
    assert ("优惠券" if lang == "zh-hans" else "Coupons") in listing
    assert AuditEvent.objects.filter(object_type="loyalty.couponissue").count() == 3


def test_sales_may_not_open_the_coupon_or_settings_pages(client, people):
    client.force_login(people[Role.SALES])
    assert client.get("/loyalty/coupons/").status_code == 403
    assert client.get("/loyalty/settings/").status_code == 403
    client.force_login(people[Role.MARKETING])
    assert client.get("/loyalty/settings/").status_code == 403


def test_a_manager_edits_the_settings_and_a_tier_audited(client, people):
    client.force_login(people[Role.MANAGER])
    page = client.get("/loyalty/settings/")
    assert page.status_code == 200
    form = page.context["form"]
    tiers = page.context["tiers"]
    data = {f"s-{k}": v for k, v in form.initial.items() if k in form.fields}
    data["s-expiry_months"] = "12"
    data.update(
        {
            "t-TOTAL_FORMS": str(tiers.initial_form_count()),  # the blank row left out
            "t-INITIAL_FORMS": str(tiers.initial_form_count()),
            "t-MIN_NUM_FORMS": "0",
            "t-MAX_NUM_FORMS": "1000",
        }
    )
    for i, tier_form in enumerate(tiers.forms[: tiers.initial_form_count()]):
        for name, field in tier_form.fields.items():
            value = tier_form.initial.get(name, "")
            if name == "id":
                value = tier_form.instance.pk or ""
            if field.__class__.__name__ == "BooleanField":
                if value:
                    data[f"t-{i}-{name}"] = "on"
                continue
            data[f"t-{i}-{name}"] = "" if value is None else value
    gold = tiers.forms[[f.instance.code for f in tiers.forms].index("gold")].prefix
    data[f"{gold}-threshold"] = "8000"

    saved = client.post("/loyalty/settings/", data)

    assert saved.status_code == 302, saved.context["form"].errors or saved.context["tiers"].errors
    assert loyalty_settings().expiry_months == 12
    assert Tier.objects.get(code="gold").threshold == Decimal(8000)
    events = AuditEvent.objects.filter(action="update", object_type__startswith="loyalty.")
    assert {e.object_type for e in events} == {"loyalty.loyaltysettings", "loyalty.tier"}
    assert events.get(object_type="loyalty.tier").after == {"threshold": "8000.00"}
