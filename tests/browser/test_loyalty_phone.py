"""The customer page's membership panel and the coupon page on a phone (390 x 844) in a real
Chromium, in Chinese and in English: readable without the page scrolling sideways, and a
coupon issued to a customer from the phone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.accounts.services import user_create
from retain.loyalty.coupons import coupon_create
from retain.loyalty.ledger import points_bonus
from retain.loyalty.models import CouponIssue, CouponKind
from retain.loyalty.tiers import tiers_evaluate
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WORDS = {
    "zh-hans": {"tier": "金卡", "coupons": "优惠券", "given": "已向 1 位客户发放优惠券。"},
    "en": {"tier": "Gold", "coupons": "Coupons", "given": "Coupon given to 1 customers."},
}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_membership_panel_and_the_coupon_page_read_on_a_phone(browser, live_server, lang):
    user_create(username="manager", password=PASSWORD, role="manager")
    customer = CustomerFactory(code="PHL01", name="手机会员测试公司")
    OrderFactory(
        customer=customer, amount=Decimal(15000), ordered_at=timezone.now() - dt.timedelta(days=2)
    )
    tiers_evaluate(as_of=timezone.localdate())
    points_bonus(customer=customer, points=1200, on=timezone.localdate(), reason="welcome")
    today = timezone.localdate()
    coupon = coupon_create(
        code="phone-vip-20",
        name="会员专享 满500减20",
        kind=CouponKind.AMOUNT,
        value=Decimal(20),
        min_spend=Decimal(500),
        valid_from=today,
        valid_until=today + dt.timedelta(days=14),
    )
    words = WORDS[lang]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{live_server.url}/customers/{customer.code}/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        panel = page.locator("#loyalty")
        panel.wait_for()
        panel.scroll_into_view_if_needed()
        assert panel.is_visible()
        assert words["tier"] in panel.inner_text()
        assert "1,200" in panel.inner_text() or "1200" in panel.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shot(page, f"loyalty-panel-phone-{lang}")

        page.goto(f"{live_server.url}/loyalty/coupons/")
        assert words["coupons"] in page.locator("h1").inner_text()
        assert page.locator('#coupon-list tr[data-code="phone-vip-20"]').count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.click('#coupon-list tr[data-code="phone-vip-20"] a')
        page.wait_for_selector("#issue-form")
        page.fill("#issue-form textarea[name=customers]", "phl01")
        page.click("#issue-form button[type=submit]")
        page.wait_for_selector("#coupon-issues >> text=PHL01")
        assert words["given"] in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        shot(page, f"loyalty-coupon-phone-{lang}")
    finally:
        context.close()
    assert CouponIssue.objects.filter(coupon=coupon, customer=customer).count() == 1
