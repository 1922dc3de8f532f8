"""A follow-up record has one name: the model ``Interaction`` is now ``FollowUp``.

The table is renamed with its rows (``interactions_interaction`` → ``interactions_followup``);
Django's ``migrate`` renames the content type after ``RenameModel`` (same id), and this
migration renames the permissions on it (``add_interaction`` → ``add_followup`` …) so every
group and user that held them keeps them, and the audit trail's object type
(``interactions.interaction`` → ``interactions.followup``) so a follow-up's history is found
under its new name.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from retain.core.migrations_support import permission_move

ACTIONS = ("add", "change", "delete", "view")


def _rename(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditEvent.objects.filter(object_type=f"interactions.{old}").update(
        object_type=f"interactions.{new}"
    )
    # After RenameModel, migrate has moved the content type to the new model name; a database
    # whose permissions were never made (a fresh one) has none to rename.
    types = ContentType.objects.filter(app_label="interactions", model__in=(old, new))
    for action in ACTIONS:
        for permission in Permission.objects.filter(
            content_type__in=types, codename=f"{action}_{old}"
        ):
            permission_move(apps, permission, permission.content_type, f"{action}_{new}")


def forwards(apps, schema_editor):
    _rename(apps, "interaction", "followup")


def backwards(apps, schema_editor):
    _rename(apps, "followup", "interaction")


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0001_initial"),
        # tasks.0001 made its link to the model under the old name: rename after it
        ("tasks", "0001_initial"),
        ("customers", "0001_initial"),
        ("audit", "0002_alter_auditevent_action"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("Interaction", "FollowUp"),
        migrations.RenameIndex(
            model_name="followup",
            new_name="interaction_custome_6ddec5_idx",
            old_name="interaction_custome_699ce2_idx",
        ),
        migrations.AlterField(
            model_name="followup",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="followups",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AlterField(
            model_name="followup",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="followups",
                to="customers.contact",
                verbose_name="contact",
            ),
        ),
        migrations.AlterField(
            model_name="followup",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="followups",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
