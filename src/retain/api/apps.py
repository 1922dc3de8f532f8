from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "retain.api"
    label = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save, pre_save

        from retain.api.services import _user_post_save, _user_pre_save

        pre_save.connect(_user_pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-1")
        post_save.connect(_user_post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="api-2")
