from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    name = "retain.tasks"
    verbose_name = _("Tasks")
