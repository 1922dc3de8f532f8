"""The role groups carry the matrix of docs/access.md (made by migration and kept in step)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from retain.accounts.access import ROLE_PERMISSIONS, can, role_permissions_sync

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "sales", "marketing", "service", "analyst"]

# (permission, roles that have it) — rows of the table in docs/access.md.
MATRIX = [
    ("customers.view_all_customers", {"admin", "manager", "marketing", "service", "analyst"}),
    ("customers.change_customer", {"admin", "manager", "sales"}),
    ("customers.delete_customer", {"admin", "manager"}),
    ("customers.view_personal_data", {"admin", "manager", "sales"}),
    ("customers.unmask_personal_data", {"admin", "manager", "service"}),
    ("customers.export_customers", {"admin", "manager", "analyst"}),
    ("customers.import_customers", {"admin", "manager", "sales"}),
    ("customers.merge_customers", {"admin", "manager"}),
    ("customers.handle_privacy_requests", {"admin", "manager"}),
    ("complaints.change_complaint", {"admin", "manager", "service"}),
    ("tags.change_tag", {"admin", "manager", "marketing"}),
    ("customers.change_consent", {"admin", "manager", "sales", "marketing", "service"}),
    ("audit.view_auditevent", {"admin", "manager"}),
]


@pytest.mark.parametrize(("permission", "holders"), MATRIX)
def test_groups_hold_the_matrix(permission, holders):
    app, codename = permission.split(".")
    have = set(
        Group.objects.filter(
            permissions__content_type__app_label=app, permissions__codename=codename
        ).values_list("name", flat=True)
    )
    assert have == holders


@pytest.mark.parametrize("role", ROLES)
def test_a_new_user_of_each_role_gets_its_permissions(role):
    from retain.accounts.services import user_create

    user = user_create(username=f"u-{role}", password="a-long-test-password", role=role)

    assert can(user, "customers.view_customer")
    assert can(user, "customers.export_customers") == (role in {"admin", "manager", "analyst"})


def test_sync_is_idempotent_and_restores_a_stripped_group():
    group = Group.objects.get(name="analyst")
    before = set(group.permissions.values_list("pk", flat=True))
    group.permissions.clear()

    role_permissions_sync()
    role_permissions_sync()

    assert set(group.permissions.values_list("pk", flat=True)) == before
    assert len(before) == len({p for p in ROLE_PERMISSIONS["analyst"] if _exists(p)})


def _exists(permission: str) -> bool:
    from django.contrib.auth.models import Permission

    app, codename = permission.split(".")
    return Permission.objects.filter(content_type__app_label=app, codename=codename).exists()
