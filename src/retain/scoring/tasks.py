"""Background jobs of scoring: thin, they call the service."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def scores_upload_task(upload_id: int) -> str:
    from retain.scoring.models import ScoresUpload
    from retain.scoring.uploads import scores_upload_run

    job = ScoresUpload.objects.get(pk=upload_id)
    return scores_upload_run(job=job).status
