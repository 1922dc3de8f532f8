from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "retain.pipeline"
    verbose_name = _("Nightly run")
