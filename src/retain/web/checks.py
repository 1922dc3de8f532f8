"""System checks of retain's own settings (``retain check``; ``--strict`` fails on them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning as CheckWarning

from retain.conf import DEFAULT_BASE_URL


def base_url_check(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """Outside debug mode the links in e-mails must not point to the development address."""
    if settings.DEBUG or settings.RETAIN_BASE_URL.rstrip("/") != DEFAULT_BASE_URL:
        return []
    return [
        CheckWarning(
            f"RETAIN_BASE_URL is the development default ({DEFAULT_BASE_URL}): churn alerts, "
            "care messages and unsubscribe links would point there.",
            hint="Set RETAIN_BASE_URL to the address people reach retain at, "
            "e.g. https://crm.example.com.",
            id="retain.W001",
        )
    ]
