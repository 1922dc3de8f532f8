"""The membership panel in a real Chromium, in Chinese and in English: a manager sees the
balance, tier and privileges, adjusts points with a reason and redeems some for a reward;
the balance and the history follow, and a redemption beyond the balance is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from retain.accounts.services import user_create
from retain.loyalty.ledger import points_balance, points_bonus
from retain.loyalty.tiers import tiers_evaluate
from tests.browser.conftest import shot, sign_in
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "zh-hans": {
        "tier": "金卡",
        "privilege": "包邮",
        "adjusted": "积分已调整。",
        "short": "可用积分只有",
    },
    "en": {
        "tier": "Gold",
        "privilege": "free shipping",
        "adjusted": "Points adjusted.",
        "short": "Only",
    },
}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_manager_adjusts_and_redeems_points_on_the_customer_page(page, live_server, lang):
    user_create(username="manager", password=PASSWORD, role="manager")
    customer = CustomerFactory(name="积分测试公司")
    OrderFactory(
        customer=customer, amount=Decimal(15000), ordered_at=timezone.now() - dt.timedelta(days=2)
    )
    tiers_evaluate(as_of=timezone.localdate())
    points_bonus(customer=customer, points=1000, on=timezone.localdate(), reason="welcome")
    words = WORDS[lang]

    sign_in(page, live_server, "manager", lang)
    assert page.locator("html").get_attribute("lang") == lang
    page.goto(f"{live_server.url}/customers/{customer.code}/")

    panel = page.locator("#loyalty")
    assert "1,000" in panel.locator("#points-balance").inner_text()
    assert words["tier"] in panel.locator("#member-tier").inner_text()
    assert words["privilege"] in panel.locator("#member-privileges").inner_text()

    page.click("#points-adjust summary")
    page.fill("#points-adjust input[name=points]", "-250")
    page.fill("#points-adjust input[name=reason]", "重复赠送")
    page.click("#points-adjust button[type=submit]")
    page.wait_for_selector("p.message.success")
    assert page.locator("p.message.success").inner_text() == words["adjusted"]
    assert "750" in page.locator("#points-balance").inner_text()

    page.click("#points-redeem summary")
    page.fill("#points-redeem input[name=points]", "751")
    page.fill("#points-redeem input[name=what]", "保温杯")
    page.click("#points-redeem button[type=submit]")
    page.wait_for_selector("p.message.error")
    assert words["short"] in page.locator("p.message.error").inner_text()

    page.click("#points-redeem summary")
    page.fill("#points-redeem input[name=points]", "700")
    page.fill("#points-redeem input[name=what]", "保温杯")
    page.click("#points-redeem button[type=submit]")
    page.wait_for_selector("p.message.success")
    history = page.locator("#points-history").inner_text()
    assert "-700" in history and "保温杯" in history and "重复赠送" in history
    shot(page, f"loyalty-panel-{lang}")
    assert points_balance(customer) == 50


RULE_WORDS = {
    "zh-hans": {"heading": "积分规则", "saved": "会员设置已保存。"},
    "en": {"heading": "Points rules", "saved": "Loyalty settings saved."},
}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_manager_adds_a_category_points_rule_and_it_earns(page, live_server, lang):
    from retain.loyalty.ledger import points_earn_orders
    from retain.loyalty.models import CategoryRule
    from retain.orders.models import OrderLine, ProductCategory

    user_create(username="manager", password=PASSWORD, role="manager")
    tea = ProductCategory.objects.create(name="茶叶")
    words = RULE_WORDS[lang]
    sign_in(page, live_server, "manager", lang)
    page.goto(f"{live_server.url}/loyalty/settings/")

    assert words["heading"] in page.locator("h2").all_inner_texts()
    table = page.locator("#category-rule-table")
    table.locator("select[name='c-0-category']").select_option(label="茶叶")
    table.locator("input[name='c-0-multiplier']").fill("3")
    page.click("#loyalty-settings-form button[type=submit]")
    page.wait_for_selector("p.message.success")
    assert page.locator("p.message.success").inner_text() == words["saved"]
    assert page.locator("select[name='c-0-category'] option:checked").inner_text() == "茶叶"
    shot(page, f"loyalty-rules-{lang}")

    rule = CategoryRule.objects.get()
    assert (rule.category, rule.multiplier) == (tea, Decimal(3))
    # the rule is what earns: 100 yuan of tea earn 300 points
    order = OrderFactory(amount=Decimal(100), ordered_at=timezone.now() - dt.timedelta(days=1))
    OrderLine.objects.create(order=order, category=tea, product="龙井", amount=Decimal(100))
    points_earn_orders(up_to=timezone.localdate())
    assert points_balance(order.customer) == 300
