"""``migrate`` that first upgrades a database made while the surveys app was ``feedback``."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

from retain.surveys.legacy import feedback_app_rename


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if feedback_app_rename(connection) and options["verbosity"] >= 1:
            self.stdout.write("Renamed the 'feedback' app's tables and history to 'surveys'.")
        super().handle(*args, **options)
