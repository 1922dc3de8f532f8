import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    """Messages of the services asserted in English (the default language is Chinese; the
    pages are tested in both)."""
    with translation.override("en"):
        yield
