"""``ComplaintEscalation`` now belongs to the complaints app. The table was renamed with its rows
by ``tasks.0004``; here the model enters this app's state, and its content type moves from
``tasks`` to ``complaints`` (same id), so the permissions on it, and every group and user that
holds them, follow. The audit trail's object type follows too."""

import django.db.models.deletion
from django.db import migrations, models

from retain.core.migrations_support import permission_move


def _move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditEvent.objects.filter(object_type=f"{old}.complaintescalation").update(
        object_type=f"{new}.complaintescalation"
    )
    moving = ContentType.objects.filter(app_label=old, model="complaintescalation").first()
    if moving is None:  # a fresh database: permissions are made after migrating
        return
    there = ContentType.objects.filter(app_label=new, model="complaintescalation").first()
    if there is None:
        moving.app_label = new
        moving.save(update_fields=["app_label"])
        return
    # Both exist (made by an earlier run): move the permissions, with their holders.
    for permission in Permission.objects.filter(content_type=moving):
        permission_move(apps, permission, there, permission.codename)
    moving.delete()


def forwards(apps, schema_editor):
    _move(apps, "tasks", "complaints")


def backwards(apps, schema_editor):
    _move(apps, "complaints", "tasks")


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0005_reopened_at"),
        ("tasks", "0004_complaintescalation_to_complaints"),
        ("audit", "0002_alter_auditevent_action"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ComplaintEscalation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("deadline", models.DateTimeField(verbose_name="first-response deadline")),
                        ("escalated_at", models.DateTimeField(verbose_name="escalated at")),
                        (
                            "complaint",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="escalation",
                                to="complaints.complaint",
                                verbose_name="complaint",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "complaint escalation",
                        "verbose_name_plural": "complaint escalations",
                        "ordering": ["-escalated_at"],
                    },
                )
            ]
        ),
        migrations.RunPython(forwards, backwards),
    ]
