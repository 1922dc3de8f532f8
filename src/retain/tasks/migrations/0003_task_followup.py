"""The task's link to the follow-up that closed it is named for what it holds (``followup``);
the column is renamed with its values."""

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0002_daily_capacity"),
        ("interactions", "0002_rename_interaction_followup"),
    ]

    operations = [
        migrations.RenameField(model_name="task", old_name="interaction", new_name="followup"),
        migrations.AlterField(
            model_name="task",
            name="followup",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tasks",
                to="interactions.followup",
                verbose_name="follow-up",
            ),
        ),
    ]
