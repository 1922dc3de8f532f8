from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_role_permissions(sender, **kwargs):  # type: ignore[no-untyped-def]
    # Permissions of apps that arrive later, and the groups after a test database flush
    # (which also sends post_migrate), follow the matrix in retain.accounts.access.
    from retain.accounts.access import role_permissions_sync

    role_permissions_sync(kwargs.get("apps"))


class AccountsConfig(AppConfig):
    name = "retain.accounts"
    verbose_name = _("Users and teams")

    def ready(self) -> None:
        post_migrate.connect(_sync_role_permissions, dispatch_uid="retain_role_permissions")
