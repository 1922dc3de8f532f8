"""Who may import and merge. One place, so it can be swapped for the shared access module."""

from __future__ import annotations

from typing import Any

IMPORT_ROLES = frozenset({"admin", "manager", "sales"})
MERGE_ROLES = frozenset({"admin", "manager"})


def can_import(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or getattr(user, "role", "") in IMPORT_ROLES)
    )


def can_merge(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or getattr(user, "role", "") in MERGE_ROLES)
    )
