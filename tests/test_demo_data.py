"""The demo company: deterministic, believable, and with real buy-till-you-die structure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min, Sum

from retain.accounts.models import Role, User
from retain.customers.models import Contact, Customer
from retain.demo.generate import DemoSpec, demo_company_create
from retain.interactions.models import FollowUp
from retain.orders.models import Order, OrderLine
from retain.surveys.models import SurveyResponse
from retain.tags.models import CustomerTag
from tests.conftest import AS_OF, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _fingerprint() -> list[tuple]:
    return (
        list(
            Customer.objects.order_by("code").values_list(
                "code", "kind", "name", "status", "owner__username"
            )
        )
        + list(
            Order.objects.order_by("number").values_list("number", "amount", "ordered_at", "status")
        )
        + _loyalty_fingerprint()
    )


def _loyalty_fingerprint() -> list[tuple]:
    """The loyalty programme's history (referral codes apart: the service draws them)."""
    from retain.loyalty.models import CouponRedemption, PointsEntry, Referral, TierChange

    return (
        list(
            PointsEntry.objects.order_by("customer__code", "on", "kind", "points").values_list(
                "customer__code", "on", "kind", "points", "order__number"
            )
        )
        + list(
            TierChange.objects.order_by("customer__code", "on").values_list(
                "customer__code", "on", "to_tier__code"
            )
        )
        + list(
            Referral.objects.order_by("referee__code").values_list(
                "referee__code", "referrer__code", "on", "status"
            )
        )
        + list(
            CouponRedemption.objects.order_by("order__number").values_list(
                "order__number", "issue__coupon__code", "discount"
            )
        )
    )


@pytest.mark.django_db  # read only: one company for the class, rolled back after it
class TestTheDemoCompany:
    def test_counts_add_up_and_every_role_has_a_user(self, demo_company_read):
        result = demo_company_read

        assert Customer.objects.count() == result.customers == 303  # 300 + 3 planted duplicates
        assert Order.objects.count() == result.orders > 300
        assert OrderLine.objects.count() == result.orders
        assert Contact.objects.count() == result.contacts
        assert FollowUp.objects.count() == result.followups > 0
        assert SurveyResponse.objects.count() == result.survey_responses > 0
        assert CustomerTag.objects.exists()
        assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
        assert User.objects.get(username="sales1").check_password(PASSWORD)

    def test_history_ends_at_as_of_and_is_timezone_aware(self, demo_company_read):
        span = Order.objects.aggregate(first=Min("ordered_at"), last=Max("ordered_at"))
        end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

        assert span["last"].tzinfo is not None
        assert span["last"] < end + dt.timedelta(hours=8)
        assert span["first"] > end - dt.timedelta(days=3 * 365 + 60)

    def test_customers_differ_in_rate_and_some_have_dropped_out(self, demo_company_read):
        counts = np.array(Customer.objects.annotate(n=Count("orders")).values_list("n", flat=True))
        last = Customer.objects.annotate(last=Max("orders__ordered_at")).exclude(last=None)
        quiet = [c.last for c in last if (AS_OF - c.last.date()).days > 365]

        assert (counts == 0).sum() > 0  # prospects never bought
        assert (counts == 1).sum() > 0  # one-time buyers
        assert counts.max() >= 8  # heavy buyers
        assert counts.var() > counts.mean()  # over-dispersed, as a gamma mixture of rates is
        assert len(quiet) > 0.1 * len(last)  # lapsed customers exist

    def test_companies_spend_more_per_order_than_shoppers(self, demo_company_read):
        avg = dict(
            Order.objects.values_list("customer__kind")
            .annotate(s=Sum("amount"), n=Count("id"))
            .values_list("customer__kind", "s")
        )
        n = dict(
            Order.objects.values_list("customer__kind")
            .annotate(n=Count("id"))
            .values_list("customer__kind", "n")
        )

        assert avg["company"] / n["company"] > 10 * avg["person"] / n["person"]

    def test_planted_duplicates_point_at_their_original(self, demo_company_read):
        planted = Customer.objects.filter(notes__startswith="demo: planted duplicate of ")

        assert planted.count() == 3
        for dup in planted:
            original = Customer.objects.get(code=dup.notes.rsplit(" ", 1)[1])
            assert original.kind == dup.kind
            assert original.pk != dup.pk


def test_same_seed_makes_the_same_company():
    import importlib

    from django.apps import apps

    def empty_database() -> None:
        # the measured plans hash (plan id, customer): both runs start from the same empty
        # database with the shipped playbooks under the same ids (flush resets the sequences)
        call_command("flush", interactive=False, verbosity=0)
        importlib.import_module("retain.playbooks.migrations.0002_default_playbooks").create(
            apps, None
        )

    spec = DemoSpec(customers=120, seed=11, as_of=AS_OF)
    empty_database()
    demo_company_create(spec=spec, password=PASSWORD)
    first = _fingerprint()
    empty_database()
    demo_company_create(spec=spec, password=PASSWORD)

    assert _fingerprint() == first


def test_a_second_run_adds_customers_without_colliding():
    spec = DemoSpec(customers=50, seed=5, as_of=AS_OF, duplicate_share=0)
    demo_company_create(spec=spec, password=PASSWORD)
    demo_company_create(spec=spec, password=PASSWORD)

    assert Customer.objects.count() == 100
    assert Customer.objects.values("code").distinct().count() == 100
    # Sequences were reset after the explicit-id bulk insert: the ORM can add rows.
    Customer.objects.create(code="X1", kind="person", name="after")


def test_make_demo_login_is_made_once_and_printed_again(settings, tmp_path):
    from retain.demo.generate import demo_login_ensure

    settings.RETAIN_HOME = tmp_path
    first = demo_login_ensure(customers=40)
    count = Customer.objects.count()
    second = demo_login_ensure(customers=40)

    assert second == first
    assert Customer.objects.count() == count > 0
    assert User.objects.get(username="admin").check_password(first.password)
    assert User.objects.get(username="sales3").check_password(first.password)
    assert (tmp_path / "demo-login.txt").stat().st_mode & 0o077 == 0


def test_the_demo_reads_like_a_real_company(demo_company):
    """Names in the customer's language, birthdays inside the age band, no one-order "core"
    customer (issue 14 item 7)."""
    import re

    from django.db.models import Count

    from retain.customers.models import Contact, Customer
    from retain.demo.draws import AGE_BAND_YEARS
    from tests.conftest import AS_OF

    latin = re.compile(r"^[A-Za-z .,'\-]+$")
    english_companies = Customer.objects.filter(kind="company").exclude(
        name__regex=r"[\u4e00-\u9fff]"
    )
    contacts = Contact.objects.filter(customer__in=english_companies)
    assert contacts.exists()
    assert all(latin.match(name) for name in contacts.values_list("name", flat=True))
    chinese = Contact.objects.filter(
        customer__kind="company", customer__name__regex=r"[\u4e00-\u9fff]"
    )
    assert not any(latin.match(n) for n in chinese.values_list("name", flat=True))

    persons = Customer.objects.filter(kind="person").exclude(birthday=None)
    assert persons.count() > 50
    for band, birthday in persons.values_list("age_band", "birthday"):
        young, old = AGE_BAND_YEARS[band]
        age = (
            AS_OF.year - birthday.year - ((AS_OF.month, AS_OF.day) < (birthday.month, birthday.day))
        )
        assert young <= age <= old, (band, birthday)

    core = Customer.objects.filter(status="core").annotate(n=Count("orders"))
    assert core.exists() and not core.filter(n__lt=2).exists()


def test_the_current_month_is_labelled_partial_on_the_board():
    import datetime as dt

    from django.utils import translation

    from retain.web.board_views import month_labels

    with translation.override("en"):
        mid = month_labels(["2026-10", "2026-11"], today=dt.date(2026, 11, 12))
        end = month_labels(["2026-10", "2026-11"], today=dt.date(2026, 11, 30))
    assert mid == ["2026-10", "2026-11 (to day 12)"]
    assert end == ["2026-10", "2026-11"]


def test_name_pools_do_not_depend_on_the_interpreters_hash_seed():
    """Same seed, same company, from any process: the company-name prefixes were a set, whose
    order follows PYTHONHASHSEED, so two `retain demo` runs named companies differently."""
    import os
    import subprocess
    import sys

    code = "from retain.demo.draws import name_pools; print(name_pools(7)['zh_company_prefix'])"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
