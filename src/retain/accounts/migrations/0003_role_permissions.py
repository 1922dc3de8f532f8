from django.db import migrations


def sync(apps, schema_editor):
    # Model permissions are normally made after all migrations (post_migrate); make them now
    # so that the groups can be given them on a fresh database.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    from retain.accounts.access import role_permissions_sync

    role_permissions_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("audit", "0001_initial"),
        ("customers", "0001_initial"),
        ("orders", "0001_initial"),
        ("interactions", "0001_initial"),
        ("complaints", "0001_initial"),
        ("surveys", "0001_initial"),
        ("tags", "0001_initial"),
        ("campaigns", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
