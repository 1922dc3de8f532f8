from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

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
        is_staff=role in (Role.ADMIN, Role.MANAGER),
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    group, _ = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    return user
