"""The duplicate search after an import compares only the new or changed customers, through
the key index, in bounded batches; the full scan is resumable (#12 item 12)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from retain.customers.models import Customer
from retain.dedup import matching, search
from retain.dedup.models import DuplicatePair, DuplicateScan, MatchKey, MatchState
from retain.dedup.services import duplicates_refresh
from retain.dedup.tasks import duplicates_nightly
from retain.imports.engine import import_file
from retain.imports.services import duplicates_after_import
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HEADER = ["客户编号", "客户名称", "客户类型", "城市", "联系电话", "邮箱"]


@pytest.fixture
def searched_spy(monkeypatch):
    """The customers each Splink run was asked about (the batch), in order."""
    calls: list[set[int]] = []
    real = matching.find_candidates

    def spy(frame, *, threshold, new_ids=None):
        calls.append(set(new_ids or ()))
        return real(frame, threshold=threshold, new_ids=new_ids)

    monkeypatch.setattr(search, "find_candidates", spy)
    return calls


def _write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


def test_an_import_searches_only_its_new_and_changed_customers(tmp_path, searched_spy):
    old = CustomerFactory(code="A1", name="恒达贸易有限公司", city="上海", phone="13800000001")
    c = CustomerFactory(code="C1", name="华信科技", city="北京")
    d = CustomerFactory(code="D1", name="华信科技有限公司", city="北京")
    CustomerFactory(code="E1", name="无关公司", city="广州")
    assert duplicates_refresh(now=NOW) == 1  # the full scan: C1 ~ D1
    pair_cd = DuplicatePair.objects.get()
    DuplicatePair.objects.filter(pk=pair_cd.pk).update(evidence=[["city", "marker"]])
    searched_spy.clear()

    result = import_file(
        path=_write(
            tmp_path / "c.csv",
            [
                ["N1", "(上海)恒达贸易", "公司", "上海", "", ""],
                ["E1", "无关公司", "公司", "深圳", "", ""],  # changed: the city
                ["N2", "刘洋", "个人", "", "13700000000", ""],
            ],
        ),
        kind="customers",
    )
    found = duplicates_after_import(result)

    new = Customer.objects.get(code="N1")
    changed = {new.pk, Customer.objects.get(code="E1").pk, Customer.objects.get(code="N2").pk}
    assert (result.created, result.updated) == (2, 1)
    assert searched_spy == [changed]
    assert found == 1
    assert DuplicatePair.objects.filter(left=old, right=new).exists()
    # the pair of two untouched customers was neither searched again nor dropped
    assert DuplicatePair.objects.get(pk=pair_cd.pk).evidence == [["city", "marker"]]
    assert (c.pk, d.pk) == (pair_cd.left_id, pair_cd.right_id)
    assert set(MatchKey.objects.filter(customer=new).values_list("key", flat=True)) == {
        "n:恒达",
        "nc:恒达|上海",
    }
    assert list(MatchKey.objects.filter(customer__code="N2").values_list("key", flat=True)) == [
        "p:13700000000"
    ]
    searched_spy.clear()
    assert duplicates_refresh(changed_only=True) == 0
    assert searched_spy == []


def test_a_key_shared_by_too_many_customers_is_skipped_and_the_frame_is_bounded(
    monkeypatch, searched_spy
):
    for i in range(6):
        CustomerFactory(code=f"Z{i}", name="华信贸易有限公司", city="北京", phone=f"010-8800000{i}")
    duplicates_refresh(now=NOW)
    assert MatchKey.objects.filter(key="nc:华信|北京").count() == 6
    monkeypatch.setattr(search, "BLOCK_LIMIT", 4)
    frames: list[int] = []
    real = search.find_candidates

    def sizes(frame, **kwargs):
        frames.append(len(frame))
        return real(frame, **kwargs)

    monkeypatch.setattr(search, "find_candidates", sizes)
    # "nc:华信|北京" has 7 members with the newcomer (> 4): skipped; the phone still counts
    newcomer = CustomerFactory(code="Z9", name="华信科技", city="北京", phone="010-88000003")

    assert duplicates_refresh(changed_only=True, now=NOW) == 1
    pair = DuplicatePair.objects.get(right=newcomer)
    assert pair.left.code == "Z3"
    assert frames == [2]  # the newcomer and the one customer sharing its phone
    assert MatchState.objects.filter(customer=newcomer).exists()

    monkeypatch.setattr(search, "BLOCK_LIMIT", 200)
    frames.clear()
    Customer.objects.filter(pk=newcomer.pk).update(updated_at=NOW)
    duplicates_refresh(changed_only=True, now=NOW)
    assert frames == [7]  # under the limit, the name key brings all six
    assert DuplicatePair.objects.filter(right=newcomer).count() == 6

    monkeypatch.setattr(search, "FRAME_LIMIT", 3)
    frames.clear()
    Customer.objects.filter(pk=newcomer.pk).update(updated_at=NOW - dt.timedelta(days=1))
    duplicates_refresh(changed_only=True, now=NOW)
    assert frames == [2]  # phone key (1 other) taken; the name key (6 others) passes 3


def test_a_stopped_full_scan_resumes_where_it_stopped(monkeypatch, searched_spy):
    customers = [CustomerFactory(code=f"S{i}", name=f"公司{i}号", city="北京") for i in range(5)]
    ids = [c.pk for c in customers]
    real = search.search_batch
    calls = {"n": 0}

    def dies_on_the_second_batch(batch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # kill -9 as near as a test gets: the batch is lost
        return real(batch, **kwargs)

    monkeypatch.setattr(search, "search_batch", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        search.scan(now=NOW, batch=2)
    scan_row = DuplicateScan.objects.get()
    assert (scan_row.finished_at, scan_row.searched) == (None, 2)
    assert set(
        MatchState.objects.filter(scan=scan_row.pk).values_list("customer_id", flat=True)
    ) == set(ids[:2])

    monkeypatch.setattr(search, "search_batch", real)
    searched_spy.clear()
    duplicates_nightly.call_local()

    assert searched_spy == [set(ids[2:])]  # the rest, then nothing changed since
    scan_row.refresh_from_db()
    assert scan_row.finished_at is not None and scan_row.searched == 5
    assert MatchState.objects.filter(scan=scan_row.pk).count() == 5
