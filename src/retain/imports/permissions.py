"""Who may import and merge: asked of the shared access module (docs/access.md)."""

from __future__ import annotations

from typing import Any

from retain.accounts.access import IMPORT_CUSTOMERS, MERGE_CUSTOMERS, can


def can_import(user: Any) -> bool:
    """admin, manager and sales (the role matrix in docs/access.md)."""
    return bool(user is not None and user.is_authenticated and can(user, IMPORT_CUSTOMERS))


def can_merge(user: Any) -> bool:
    """admin and manager: merges, duplicates and the data-quality report."""
    return bool(user is not None and user.is_authenticated and can(user, MERGE_CUSTOMERS))
