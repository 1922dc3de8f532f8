"""Both languages are complete: every interface string has a Chinese translation, compiled."""

from __future__ import annotations

from pathlib import Path

import polib

import retain

CATALOGUE = Path(retain.__file__).parent / "locale/zh_Hans/LC_MESSAGES/django.po"


def test_every_string_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(CATALOGUE))

    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_compiled_catalogue_matches_the_source():
    po = polib.pofile(str(CATALOGUE))
    mo = polib.mofile(str(CATALOGUE.with_suffix(".mo")))

    assert {e.msgid: e.msgstr for e in mo} == {e.msgid: e.msgstr for e in po.translated_entries()}


def test_templates_carry_no_string_outside_the_catalogue():
    """makemessages would add them; here: every {% translate %} literal is in the .po."""
    import re

    po_ids = {e.msgid for e in polib.pofile(str(CATALOGUE))}
    templates = Path(retain.__file__).parent.glob("*/templates/**/*.html")
    pattern = re.compile(r'{%\s*translate\s+"([^"]+)"')
    used = {m for t in templates for m in pattern.findall(t.read_text())}

    assert used - po_ids == set()
