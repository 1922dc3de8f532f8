"""Background jobs of imports: thin, they call the service."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def import_job_task(job_id: int) -> str:
    from retain.imports.models import ImportJob
    from retain.imports.services import import_job_run

    job = ImportJob.objects.get(pk=job_id)
    return import_job_run(job=job).status
