"""Erasure reaches the stored import files: uploads and reject files that mention an erased
person are deleted (their rows are in the database already, or were refused), and the row
errors kept on the job that quote them are dropped. Called by ``customer_erase``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from retain.imports.models import ImportJob, ImportStatus
from retain.imports.reading import ImportFileError, open_table


def _mentions(path: Path, needles: set[str]) -> bool:
    """Whether a cell of the CSV/XLSX file at ``path`` is one of ``needles``."""
    try:
        table = open_table(path)
    except (ImportFileError, OSError):
        return False
    try:
        if any(str(h).strip() in needles for h in table.headers):
            return True
        for _number, cells in table.rows:
            if any(c is not None and str(c).strip() in needles for c in cells):
                return True
    except (ImportFileError, OSError, ValueError):
        return False
    finally:
        table.close()
    return False


def import_files_erase(*, identifiers: Iterable[str]) -> int:
    """Delete the uploads and reject files that name any of ``identifiers`` (a customer's
    code, names, phones, emails); returns how many jobs were purged. A job still running
    is left alone; one not yet run is failed so the file cannot bring the data back."""
    needles = {str(i).strip() for i in identifiers if i and len(str(i).strip()) >= 2}
    if not needles:
        return 0
    purged = 0
    for job in ImportJob.objects.exclude(status=ImportStatus.RUNNING).order_by("pk"):
        files = [f for f in (job.file, job.reject_file) if f and f.name]
        hit = False
        for stored in files:
            try:
                path = Path(stored.path)
            except (NotImplementedError, ValueError):
                continue
            if path.exists() and _mentions(path, needles):
                hit = True
        errors = job.errors or []
        kept = [
            e for e in errors if not any(n in json.dumps(e, ensure_ascii=False) for n in needles)
        ]
        if not hit and len(kept) == len(errors):
            continue
        fields: dict[str, Any] = {"errors": kept}
        if hit:
            for stored in files:
                stored.delete(save=False)
            fields.update(
                file="",
                reject_file="",
                error_summary=(job.error_summary + "\n" if job.error_summary else "")
                + _("The file was deleted when a person in it was erased."),
            )
            if job.status in (ImportStatus.UPLOADED, ImportStatus.QUEUED):
                fields["status"] = ImportStatus.FAILED
        ImportJob.objects.filter(pk=job.pk).update(**fields)
        purged += 1
    return purged
