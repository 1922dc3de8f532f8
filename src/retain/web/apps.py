from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "retain.web"
    verbose_name = _("Web")

    def ready(self) -> None:
        from django.core import checks

        from retain.web.checks import base_url_check

        checks.register(base_url_check)
