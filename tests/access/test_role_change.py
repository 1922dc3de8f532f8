"""A role changed after creation moves the user's role group and staff flags with it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from retain.accounts.services import user_create, user_role_set
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_role_set_replaces_the_role_group_and_keeps_other_groups():
    user = user_create(username="li", password=PASSWORD, role="sales")
    extra = Group.objects.create(name="华东大客户项目")
    user.groups.add(extra)

    user_role_set(user=user, role="manager")

    user.refresh_from_db()
    assert user.role == "manager"
    assert sorted(user.groups.values_list("name", flat=True)) == ["manager", "华东大客户项目"]
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_unknown_role_is_refused_and_nothing_changes():
    user = user_create(username="li", password=PASSWORD, role="sales")

    with pytest.raises(ValueError):
        user_role_set(user=user, role="boss")

    user.refresh_from_db()
    assert user.role == "sales"
    assert list(user.groups.values_list("name", flat=True)) == ["sales"]


def test_role_changed_in_the_admin_moves_the_group(client, admin_user):
    user = user_create(username="wang", password=PASSWORD, role="sales")
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[user.pk])
    joined = user.date_joined

    response = client.post(
        url,
        {
            "username": "wang",
            "role": "marketing",
            "language": "",
            "is_active": "on",
            "groups": [Group.objects.get(name="sales").pk],  # stale group left ticked
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.role == "marketing"
    assert list(user.groups.values_list("name", flat=True)) == ["marketing"]
    assert not user.is_staff
