"""``ComplaintEscalation`` moves to the complaints app (complaint deadlines live there): the
model leaves this app's state and its table is renamed with its rows
(``tasks_complaintescalation`` → ``complaints_complaintescalation``);
``complaints.0006_complaintescalation`` takes it over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tasks", "0003_task_followup")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("complaintescalation", "complaints_complaintescalation")
            ],
            state_operations=[migrations.DeleteModel("ComplaintEscalation")],
        )
    ]
