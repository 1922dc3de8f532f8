from __future__ import annotations

from typing import Any

from django.db import transaction

from retain.playbooks.models import Playbook


@transaction.atomic
def playbook_save(*, form: Any, actions: Any) -> Playbook:
    """Save a playbook and its actions from the (valid) edit form and formset together."""
    playbook: Playbook = form.save()
    actions.instance = playbook
    actions.save()
    return playbook
