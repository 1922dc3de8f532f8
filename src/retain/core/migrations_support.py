"""What data migrations that rename or move a model share: carrying its permissions over."""

from __future__ import annotations

from typing import Any


def permission_move(apps: Any, permission: Any, content_type: Any, codename: str) -> None:
    """Put ``permission`` on ``content_type`` as ``codename``; every group and user that held
    it keeps it. When that permission exists already (``post_migrate`` made it on an earlier
    run), its holders are given the existing one and the old one is deleted."""
    Permission = apps.get_model("auth", "Permission")
    current = Permission.objects.filter(content_type=content_type, codename=codename).first()
    if current is None:
        permission.content_type = content_type
        permission.codename = codename
        permission.save(update_fields=["content_type", "codename"])
        return
    for group in permission.group_set.all():
        group.permissions.add(current)
    for user in permission.user_set.all():
        user.user_permissions.add(current)
    permission.delete()
