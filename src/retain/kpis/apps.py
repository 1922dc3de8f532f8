from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _default_targets_ensure(sender, **kwargs):  # type: ignore[no-untyped-def]
    # The default targets come from migration 0002; a test database flush (which sends
    # post_migrate) removes them, so put back any that are missing. Edited targets stay.
    apps = kwargs.get("apps")
    if apps is None:  # a flush sends no apps: use the live registry
        from django.apps import apps
    try:
        KpiTarget = apps.get_model("kpis", "KpiTarget")
    except LookupError:
        return
    from retain.kpis.definitions import DEFAULT_TARGETS

    for kpi, comparison, value in DEFAULT_TARGETS:
        KpiTarget.objects.get_or_create(
            kpi=kpi, defaults={"comparison": comparison, "value": value}
        )


class KpisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "retain.kpis"
    verbose_name = _("KPIs and targets")

    def ready(self) -> None:
        post_migrate.connect(
            _default_targets_ensure, sender=self, dispatch_uid="retain_default_kpi_targets"
        )
