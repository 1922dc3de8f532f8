from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English here."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
