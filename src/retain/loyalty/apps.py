from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _default_tiers_ensure(sender, **kwargs):  # type: ignore[no-untyped-def]
    # A test database flush (which sends post_migrate) removes the tiers of migration 0002:
    # put back the defaults when there are none. Edited tiers stay.
    apps = kwargs.get("apps")
    if apps is None:
        from django.apps import apps
    try:
        Tier = apps.get_model("loyalty", "Tier")
    except LookupError:
        return
    from retain.loyalty.defaults import DEFAULT_TIERS

    if not Tier.objects.exists():
        for values in DEFAULT_TIERS:
            Tier.objects.create(**values)


class LoyaltyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "retain.loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        post_migrate.connect(
            _default_tiers_ensure, sender=self, dispatch_uid="retain_default_loyalty_tiers"
        )
