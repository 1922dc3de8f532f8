"""Issue 14's "done when" in a real Chromium, in both languages, on a laptop and on a
390 x 844 phone: a sales rep creates a customer with two contacts after a duplicate
warning, edits it, changes its status, searches by name and phone and works today's list
to zero; a manager reassigns from the team page; an admin edits any customer and searches.
No page scrolls sideways at either size. Screenshots are saved as test artifacts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retain.accounts.models import Team
from retain.accounts.services import user_create
from retain.customers.models import Contact, Customer, StatusChange
from retain.tasks.models import DailyCapacity, Task, TaskKind, TaskStatus
from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: (language, viewport): each flow once in Chinese on a laptop, once in English on a phone.
RUNS = [("zh-CN", LAPTOP, "zh-laptop"), ("en-US", PHONE, "en-phone")]
WORDS = {
    "zh-CN": {"core": "核心", "nothing_left": "今天的任务已全部完成。", "left": "离职"},
    "en-US": {"core": "Core", "nothing_left": "Nothing left for today.", "left": "left"},
}


@pytest.fixture
def company(db):
    team = Team.objects.create(name="华东销售组")
    sales1 = user_create(username="sales1", password=PASSWORD, role="sales", team=team)
    sales2 = user_create(username="sales2", password=PASSWORD, role="sales", team=team)
    team.lead = sales1
    team.save()
    manager = user_create(username="manager", password=PASSWORD, role="manager")
    admin = user_create(username="admin", password=PASSWORD, role="admin")
    existing = CustomerFactory(
        code="C2024001", name="星河科技有限公司", owner=sales1, phone="13800138000"
    )
    ContactFactory(customer=existing, name="张伟", phone="13911112222", is_primary=True)
    today = timezone.localdate()
    DailyCapacity.objects.create(user=sales1, tasks_per_day=3)
    day = dt.timedelta(days=1)
    work = [
        (sales1, today - day),  # overdue
        (sales1, today),
        (sales1, today),
        (sales1, today + 2 * day),  # later
        (sales2, today - 3 * day),
        (sales2, today - day),
    ]
    for n, (who, due) in enumerate(work):
        customer = CustomerFactory(code=f"C2024{n + 100}", name=f"客户{n}", owner=who)
        Task.objects.create(
            customer=customer,
            kind=TaskKind.PLAYBOOK,
            key=f"action:{n}",
            owner=who,
            title=f"电话回访 {n}",
            reason="核心客户维系计划：每月电话回访",
            channel="phone",
            due_on=due,
            created_at=timezone.now(),
        )
    return {"sales1": sales1, "sales2": sales2, "manager": manager, "admin": admin}


def open_page(browser, locale, viewport):
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def login(page, url, username):
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def no_sideways_scroll(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w || e.scrollWidth > e.clientWidth + 1)
                .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ':'
                    + Math.round(e.getBoundingClientRect().right) + '/' + e.scrollWidth)""",
            viewport["width"],
        )
        shot(page, "too-wide")
        raise AssertionError(f"{page.url} is {width}px wide: {wide}")


def search(page, term, expect):
    with page.expect_response(lambda r: "/search/?" in r.url and r.status == 200):
        page.fill("#global-q", term)
    page.wait_for_selector(f"#search-results >> text={expect}")
    return page.locator("#search-results a.result").count()


@pytest.mark.parametrize(("locale", "viewport", "tag"), RUNS, ids=[r[2] for r in RUNS])
def test_a_sales_rep_runs_the_day(browser, live_server, company, locale, viewport, tag):
    words = WORDS[locale]
    context, page = open_page(browser, locale, viewport)
    url = live_server.url
    login(page, url, "sales1")
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-board")

    # create a customer: the duplicate check warns while typing, saving needs a confirmation
    page.goto(f"{url}/customers/")
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-customer-list")
    page.click("#new-customer")
    page.fill("#id_name", "(北京)星河科技")
    page.wait_for_selector("#duplicates >> text=C2024001")
    page.fill("#id_phone", "138 0013 8001")
    page.select_option("#id_source", index=0)
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-duplicate-warning")
    page.click("#create")
    page.wait_for_selector("#confirm")
    page.check("#confirm")
    page.click("#create")
    page.wait_for_selector("#edit-customer")
    customer = Customer.objects.get(name="(北京)星河科技")
    assert (customer.owner, customer.phone) == (company["sales1"], "13800138001")

    # two contacts
    page.fill("#contact-add #id_name", "李娜")
    page.fill("#contact-add #id_phone", "13700000001")
    page.check("#contact-add #id_is_primary")
    page.click("#add-contact-save")
    page.wait_for_selector("#contacts >> text=李娜")
    page.click("#add-contact summary")
    page.fill("#contact-add #id_name", "王强")
    page.fill("#contact-add #id_email", "wang@example.com")
    page.click("#add-contact-save")
    page.wait_for_selector("#contacts >> text=王强")
    assert list(customer.contacts.values_list("name", "is_primary")) == [
        ("李娜", True),
        ("王强", False),
    ]
    assert page.locator('#contacts a[href="tel:13700000001"]').count() == 1

    # edit the customer sheet, then the status with its reason
    page.click("#edit-customer")
    page.fill("#id_key_needs", "云存储解决方案")
    page.fill("#id_first_contact_date", "2024-01-15")
    page.click("#save")
    page.wait_for_selector("#profile >> text=云存储解决方案")
    page.select_option("#status-form select[name=status]", "core")
    page.fill("#status-form input[name=reason]", "已合作2年")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#status >> text=已合作2年")
    assert words["core"] in page.locator("#status").inner_text()
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-customer-page")
    customer.refresh_from_db()
    assert (customer.status, customer.first_contact_date) == ("core", dt.date(2024, 1, 15))
    assert StatusChange.objects.filter(customer=customer, reason="已合作2年").count() == 1

    # search from the top bar: by name, then by a contact's phone
    assert search(page, "星河科技", "C2024001") == 2
    shot(page, f"{tag}-search-name")
    assert search(page, "13911112222", "星河科技有限公司") == 1
    shot(page, f"{tag}-search-phone")

    # today's list: three tasks (the capacity), one done in its form, two in bulk
    page.goto(f"{url}/tasks/")
    assert page.locator("#today article.task-card").count() == 3
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-task-inbox")
    first = page.locator("#today article.task-card").first
    first_id = first.get_attribute("id")
    first.locator("a.done-button").click()
    page.wait_for_selector("form.complete")
    page.fill("#id_content", "电话回访：客户满意")
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-followup-form")
    page.click("form.complete button[type=submit]")
    page.wait_for_selector(f"#{first_id}.done")
    page.goto(f"{url}/tasks/")
    for box in page.locator("#today input[name=task]").all():
        box.check()
    page.fill("#bulk-tasks input[name=content]", "已电话联系")
    page.click("#bulk-complete")
    page.wait_for_selector(f"#today >> text={words['nothing_left']}")
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-task-inbox-done")
    assert Task.objects.filter(owner=company["sales1"], status=TaskStatus.DONE).count() == 3
    assert Task.objects.filter(owner=company["sales1"], status=TaskStatus.OPEN).count() == 1
    context.close()


@pytest.mark.parametrize(("locale", "viewport", "tag"), RUNS, ids=[r[2] for r in RUNS])
def test_a_manager_reassigns_and_an_admin_edits(
    browser, live_server, company, locale, viewport, tag
):
    context, page = open_page(browser, locale, viewport)
    url = live_server.url
    login(page, url, "manager")
    page.click("#nav-team")
    page.wait_for_selector("#rep-sales2")
    assert page.locator("#rep-sales2 dd.overdue").inner_text() == "2"
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-team")
    card = page.locator("#rep-sales2")
    card.locator("select[name=what]").select_option("overdue")
    card.locator("select[name=to]").select_option(label=str(company["sales1"]))
    card.locator("form.reassign button").click()
    page.wait_for_selector(".message.success")
    assert page.locator("#rep-sales2 dd.overdue").inner_text() == "0"
    assert Task.objects.filter(owner=company["sales2"], status=TaskStatus.OPEN).count() == 0
    context.close()

    context, page = open_page(browser, locale, viewport)
    login(page, url, "admin")
    search(page, "13800138000", "星河科技有限公司")
    page.locator("#search-results a.result").first.click()
    page.wait_for_selector("#edit-customer")
    zhang = Contact.objects.get(name="张伟")
    page.goto(f"{url}/customers/C2024001/contacts/{zhang.pk}/")
    page.fill("#id_left_on", "2026-10-31")
    page.click("#save-contact")
    page.wait_for_selector(f"#contacts >> text={WORDS[locale]['left']}")
    no_sideways_scroll(page, viewport)
    shot(page, f"{tag}-admin-contact-left")
    zhang.refresh_from_db()
    assert (zhang.left_on, zhang.is_primary) == (dt.date(2026, 10, 31), False)
    context.close()
