from django.db import migrations


def tiers_add(apps, schema_editor):  # type: ignore[no-untyped-def]
    from retain.loyalty.defaults import DEFAULT_TIERS

    Tier = apps.get_model("loyalty", "Tier")
    if not Tier.objects.exists():
        for values in DEFAULT_TIERS:
            Tier.objects.create(**values)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [migrations.RunPython(tiers_add, migrations.RunPython.noop)]
