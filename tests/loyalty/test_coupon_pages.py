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

AS_OF_DAY = dt.date(2026, 3, 1)


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
    tiers = page.context["tiers"]
    data = _settings_post(page)
    data["s-expiry_months"] = "12"
    gold = tiers.forms[[f.instance.code for f in tiers.forms].index("gold")].prefix
    data[f"{gold}-threshold"] = "8000"

    saved = client.post("/loyalty/settings/", data)

    assert saved.status_code == 302, saved.context["form"].errors or saved.context["tiers"].errors
    assert loyalty_settings().expiry_months == 12
    assert Tier.objects.get(code="gold").threshold == Decimal(8000)
    events = AuditEvent.objects.filter(action="update", object_type__startswith="loyalty.")
    assert {e.object_type for e in events} == {"loyalty.loyaltysettings", "loyalty.tier"}
    assert events.get(object_type="loyalty.tier").after == {"threshold": "8000.00"}


def _settings_post(page, **rows: dict[str, dict[str, str]]) -> dict[str, str]:
    """What the browser posts back from the settings page, plus ``rows`` (prefix -> {field:
    value}) typed into the tables' rows (an existing one by its form prefix, or the blank one)."""
    ctx = page.context
    data = {f"s-{k}": v for k, v in ctx["form"].initial.items() if k in ctx["form"].fields}
    for formset in (ctx["tiers"], ctx["category_rules"], ctx["campaign_rules"]):
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        )
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.forms))
        for row in formset.forms:  # what the browser shows in each row, the blank one too
            for name, field in row.fields.items():
                value = row[name].value()
                if field.__class__.__name__ == "BooleanField":
                    if value:
                        data[f"{row.prefix}-{name}"] = "on"
                    continue
                data[f"{row.prefix}-{name}"] = "" if value is None else value
    for prefix, fields in rows.items():
        data.update({f"{prefix}-{k}": v for k, v in fields.items()})
    return data


def test_a_manager_edits_the_points_rules_on_the_settings_page(client, people):
    from retain.campaigns.models import Campaign
    from retain.loyalty.models import CampaignRule, CategoryRule
    from retain.orders.models import ProductCategory

    tea = ProductCategory.objects.create(name="茶叶")
    cups = ProductCategory.objects.create(name="茶具")
    spring = Campaign.objects.create(
        name="春茶节", kind=Campaign._meta.get_field("kind").choices[0][0], starts_on=AS_OF_DAY
    )
    manager = people[Role.MANAGER]
    client.force_login(manager)
    client.cookies["django_language"] = "en"
    page = client.get("/loyalty/settings/")
    html = page.content.decode()
    assert 'id="category-rule-table"' in html and 'id="campaign-rule-table"' in html

    # a fixed rule of no points is refused, and nothing of the post is kept
    bad = client.post(
        "/loyalty/settings/",
        _settings_post(
            page,
            **{
                "c-0": {"category": str(tea.pk), "mode": "multiplier", "multiplier": "3"},
                "p-0": {"campaign": str(spring.pk), "mode": "fixed", "points": "0"},
            },
        ),
    )
    assert bad.status_code == 422 and "at least one point" in bad.content.decode()
    assert not CategoryRule.objects.exists() and not CampaignRule.objects.exists()

    added = client.post(
        "/loyalty/settings/",
        _settings_post(
            page,
            **{
                "c-0": {"category": str(tea.pk), "mode": "multiplier", "multiplier": "3"},
                "p-0": {"campaign": str(spring.pk), "mode": "fixed", "points": "50"},
            },
        ),
    )
    assert added.status_code == 302
    rule = CategoryRule.objects.get()
    assert (rule.category, rule.mode, rule.multiplier) == (tea, "multiplier", Decimal(3))
    assert CampaignRule.objects.get().points == 50

    # the next visit lists them: move the rule to another category, delete the campaign's
    page = client.get("/loyalty/settings/")
    changed = client.post(
        "/loyalty/settings/",
        _settings_post(page, **{"c-0": {"category": str(cups.pk)}, "p-0": {"DELETE": "on"}}),
    )
    assert changed.status_code == 302
    assert CategoryRule.objects.get().category == cups and not CampaignRule.objects.exists()
    events = AuditEvent.objects.filter(
        object_type__in=["loyalty.categoryrule", "loyalty.campaignrule"]
    )
    assert sorted((e.object_type, e.action) for e in events) == [
        ("loyalty.campaignrule", "create"),
        ("loyalty.campaignrule", "delete"),
        ("loyalty.categoryrule", "create"),
        ("loyalty.categoryrule", "update"),
    ]
    assert all(e.actor == manager for e in events)

    # marketing may not change the programme's rules
    client.force_login(people[Role.MARKETING])
    assert client.post("/loyalty/settings/", {"c-TOTAL_FORMS": "1"}).status_code == 403
