from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "retain.surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from retain.pipeline.queue import job_lost
        from retain.surveys.sending import send_lost

        job_lost.connect(send_lost, dispatch_uid="surveys.send_lost")
