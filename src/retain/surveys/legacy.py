"""Upgrade a database made while this app was called ``feedback``.

The app was renamed ``feedback`` → ``surveys``. A database made before that has the tables
``feedback_survey`` and ``feedback_surveyresponse``, rows in ``django_migrations`` for app
``feedback``, content types (and so permissions) under ``feedback`` and audit events naming
``feedback.*`` objects. Django's migration loader refuses such a history (``accounts`` now
depends on ``surveys``), so the rename runs before ``migrate`` looks at it: the ``migrate``
command of this app calls :func:`feedback_app_rename` first. It is one transaction and does
nothing on a database that has no ``feedback`` rows.
"""

from __future__ import annotations

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

OLD, NEW = "feedback", "surveys"
TABLES = {"feedback_survey": "surveys_survey", "feedback_surveyresponse": "surveys_surveyresponse"}
MODELS = ("survey", "surveyresponse")


def feedback_app_rename(connection: BaseDatabaseWrapper | None = None) -> bool:
    """Rename the ``feedback`` app's tables and bookkeeping to ``surveys``; True if it did."""
    connection = connection or connections["default"]
    tables = set(connection.introspection.table_names())
    if "django_migrations" not in tables:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = %s", [OLD])
        if not cursor.fetchone()[0]:
            return False
    # The SQLite schema editor turns foreign-key checks off around its own transaction.
    with connection.schema_editor() as editor:
        for old, new in TABLES.items():
            if old in tables and new not in tables:
                editor.alter_db_table(None, old, new)  # type: ignore[arg-type]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE django_migrations SET app = %s WHERE app = %s", [NEW, OLD])
            if "django_content_type" in tables:
                cursor.execute(
                    "UPDATE django_content_type SET app_label = %s WHERE app_label = %s",
                    [NEW, OLD],
                )
            if "audit_auditevent" in tables:
                for model in MODELS:
                    cursor.execute(
                        "UPDATE audit_auditevent SET object_type = %s WHERE object_type = %s",
                        [f"{NEW}.{model}", f"{OLD}.{model}"],
                    )
    return True
