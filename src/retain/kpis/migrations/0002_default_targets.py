from django.db import migrations


def load(apps, schema_editor):
    from retain.kpis.definitions import DEFAULT_TARGETS

    KpiTarget = apps.get_model("kpis", "KpiTarget")
    for kpi, comparison, value in DEFAULT_TARGETS:
        KpiTarget.objects.get_or_create(
            kpi=kpi, defaults={"comparison": comparison, "value": value}
        )


def sync_permissions(apps, schema_editor):
    # Managers and admins edit targets and goals; the other roles see them.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from retain.accounts.access import role_permissions_sync

    role_permissions_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_initial"),
        ("accounts", "0003_role_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
        migrations.RunPython(sync_permissions, migrations.RunPython.noop),
    ]
