from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowUpsConfig(AppConfig):
    name = "retain.interactions"
    verbose_name = _("Follow-ups")
