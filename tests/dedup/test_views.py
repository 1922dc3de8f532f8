"""The data-cleaning pages (retain.dedup.views): the duplicates list, merge and undo, the
whole-database search on the worker, the quality page and its export."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retain.accounts.services import user_create
from retain.customers.models import Customer
from retain.dedup.models import DuplicatePair, MergeRecord
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_sales_may_not_merge_or_see_the_quality_page(client):
    sales = user_create(username="s1", password=PASSWORD, role="sales")
    client.force_login(sales)

    assert client.get(reverse("duplicates")).status_code == 403
    assert client.get(reverse("quality")).status_code == 403


def test_duplicates_page_merges_and_undoes(
    client, admin_user, huey_immediate, django_capture_on_commit_callbacks
):
    a = CustomerFactory(code="A1", name="(北京)华信科技有限公司", city="北京", industry="")
    b = CustomerFactory(code="A2", name="华信科技", city="北京", industry="IT服务")
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("duplicates"))
    pair = DuplicatePair.objects.get()
    listing = client.get(reverse("duplicates")).content.decode()
    merge_page = client.get(reverse("duplicate-merge", args=[pair.pk]))
    merged = client.post(reverse("duplicate-merge", args=[pair.pk]), {"field-industry": "loser"})

    assert "华信科技" in listing and "same name: (北京)华信科技有限公司 / 华信科技" in listing
    assert merge_page.status_code == 200
    assert merged.status_code == 302
    a.refresh_from_db()
    assert a.industry == "IT服务"
    assert not Customer.objects.filter(pk=b.pk).exists()
    record = MergeRecord.objects.get()

    client.post(reverse("merge-undo", args=[record.pk]))

    assert Customer.objects.get(pk=b.pk).code == "A2"
    a.refresh_from_db()
    assert a.industry == ""


@pytest.fixture
def huey_queue():
    """Huey as in production (not immediate): jobs wait in its queue for a worker."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    yield HUEY
    HUEY.flush()


def test_search_now_queues_one_full_scan_on_the_worker(
    client, admin_user, huey_queue, django_capture_on_commit_callbacks
):
    from retain.dedup.models import DuplicateScan

    CustomerFactory(code="A1", name="(北京)华信科技有限公司", city="北京")
    CustomerFactory(code="A2", name="华信科技", city="北京")
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("duplicates"), follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(reverse("duplicates"), follow=True)

    # nothing was searched inside the requests: one job waits for the worker
    assert [task.name for task in huey_queue.pending()] == ["duplicates_scan_task"]
    assert DuplicatePair.objects.count() == 0
    scan = DuplicateScan.objects.get()
    assert (scan.searched, scan.finished_at, scan.queued_at is not None) == (0, None, True)
    first_page, second_page = first.content.decode(), second.content.decode()
    assert "The search of the whole database is queued" in first_page
    assert 'id="scan-status"' in first_page and "waits for the job worker" in first_page
    assert 'id="find-duplicates" disabled' in first_page
    assert "already queued or running" in second_page

    task = huey_queue.dequeue()
    huey_queue.immediate = True  # run it here: djhuey then keeps the test's connection open
    try:
        found = huey_queue.execute(task)
    finally:
        huey_queue.immediate = False

    assert found == 1
    assert DuplicatePair.objects.filter(status="open").count() == 1
    scan.refresh_from_db()
    assert (scan.searched, scan.finished_at is not None) == (2, True)
    page = client.get(reverse("duplicates")).content.decode()
    assert 'id="scan-status"' not in page and 'id="find-duplicates">' in page


def test_quality_page_and_export(client, admin_user):
    CustomerFactory(code="Q1", kind="person", name="张三", phone="12345", email="bad@")
    client.force_login(admin_user)

    page = client.get(reverse("quality")).content.decode()
    export = client.get(reverse("quality"), {"format": "csv"}).content.decode("utf-8-sig")

    assert 'id="q-phones">1<' in page and 'id="q-emails">1<' in page
    assert export.splitlines()[1].startswith("Q1,customer,phone,12345,")
