"""factory_boy factories for the domain models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from retain.accounts.models import Role, User
from retain.complaints.models import Complaint
from retain.customers.models import Contact, Customer, CustomerKind
from retain.interactions.models import FollowUp
from retain.orders.models import Order
from retain.surveys.models import Survey, SurveyResponse

AT = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SALES
    password = factory.django.Password("a-long-test-password")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"T{n:06d}")
    kind = CustomerKind.COMPANY
    name = factory.Sequence(lambda n: f"测试科技有限公司{n}")
    industry = "制造业"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"SO{n:08d}")
    ordered_at = AT
    amount = Decimal("100.00")
    channel = "online"


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    kind = "call"
    occurred_at = AT
    logged_at = factory.LazyAttribute(lambda o: o.occurred_at + dt.timedelta(hours=2))
    content = "电话回访"


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    customer = factory.SubFactory(CustomerFactory)
    opened_at = AT
    channel = "phone"
    category = "物流延迟"
    description = "发货晚了"


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("name",)

    name = "NPS"


class SurveyResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyResponse

    customer = factory.SubFactory(CustomerFactory)
    survey = factory.SubFactory(SurveyFactory)
    sent_at = AT
    answered_at = factory.LazyAttribute(lambda o: o.sent_at + dt.timedelta(days=1))
    nps = 9


def aware(*args: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))
