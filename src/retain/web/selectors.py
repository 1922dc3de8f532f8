from __future__ import annotations

from retain.complaints.models import Complaint, ComplaintStatus


def open_complaints_count() -> int:
    return Complaint.objects.filter(
        status__in=[ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS]
    ).count()
