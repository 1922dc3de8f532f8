"""A small company for walking the permission matrix: one user per role, two sales teams
(east led by ``lead``, with ``east``; west with ``west``) and a customer per owner."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from retain.accounts.models import Team, User
from retain.accounts.services import user_create
from retain.api.services import api_token_create
from retain.customers.models import Customer
from tests.conftest import PASSWORD
from tests.factories import ContactFactory, CustomerFactory

ROLES = ["admin", "manager", "marketing", "service", "analyst"]
SALES = ["lead", "east", "west"]

#: Who sees which customer (by owner): everyone but sales sees all four.
SEES = {
    **{role: {"lead", "east", "west", "nobody"} for role in ROLES},
    "lead": {"lead", "east"},  # the team lead sees the team's accounts
    "east": {"east"},
    "west": {"west"},
}


@dataclass
class Company:
    users: dict[str, User]
    customers: dict[str, Customer]  # by owner name ("nobody" has no owner)
    tokens: dict[str, str]

    def code(self, owner: str) -> str:
        return self.customers[owner].code


@pytest.fixture
def company(db) -> Company:
    users = {role: user_create(username=role, password=PASSWORD, role=role) for role in ROLES}
    east_team = Team.objects.create(name="华东销售组")
    west_team = Team.objects.create(name="华南销售组")
    users["lead"] = user_create(username="lead", password=PASSWORD, role="sales", team=east_team)
    users["east"] = user_create(username="east", password=PASSWORD, role="sales", team=east_team)
    users["west"] = user_create(username="west", password=PASSWORD, role="sales", team=west_team)
    east_team.lead = users["lead"]
    east_team.save()
    customers = {}
    for n, owner in enumerate([*SALES, "nobody"]):
        customer = CustomerFactory(
            code=f"C2026{n:03d}",
            name=f"{owner}客户",
            owner=users.get(owner),
            phone=f"1381234{n:04d}",
            email=f"zhang{n}@example.com",
        )
        ContactFactory(customer=customer, name=f"{owner}联系人", phone=f"1399999{n:04d}")
        customers[owner] = customer
    tokens = {name: api_token_create(user=user, name="tests")[1] for name, user in users.items()}
    return Company(users=users, customers=customers, tokens=tokens)


def bearer(company: Company, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {company.tokens[who]}"}


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # Eight users per test: a fast hasher keeps the matrix quick (login itself is tested too).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
