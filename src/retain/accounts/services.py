from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from retain.accounts.access import role_is_staff, role_is_superuser
from retain.accounts.models import Role, Team, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str = Role.SALES,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: Team | None = None,
) -> User:
    """Create a user in ``role``; admins are also Django superusers (back office)."""
    role = Role(role)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        team=team,
        is_staff=role_is_staff(role),
        is_superuser=role_is_superuser(role),
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    return user


@transaction.atomic
def user_role_set(*, user: User, role: str) -> User:
    """Put ``user`` in ``role``: the role's group replaces any other role group.

    Groups that are not role groups are kept; staff and superuser follow the role, as in
    ``user_create``, so the role field and the permissions never disagree.
    """
    role = Role(role)
    user.role = role
    user.is_staff = role_is_staff(role)
    user.is_superuser = role_is_superuser(role)
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.remove(*Group.objects.filter(name__in=Role.values).exclude(pk=group.pk))
    user.groups.add(group)
    return user
