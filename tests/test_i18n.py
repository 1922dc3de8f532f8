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
    """makemessages would add them; here: every {% translate %} literal is in the .po, under
    the msgid Django looks up (a literal's "%" doubled: '%(n)s min left' is "%%(n)s min left")."""
    import re

    po_ids = {e.msgid for e in polib.pofile(str(CATALOGUE))}
    templates = Path(retain.__file__).parent.glob("*/templates/**/*.html")
    pattern = re.compile(r"""{%\s*translate\s+(["'])(.+?)\1""")
    used = {m.replace("%", "%%") for t in templates for _q, m in pattern.findall(t.read_text())}

    assert used - po_ids == set()


def test_the_complaint_clock_counts_down_in_chinese():
    """The clock's script fills data-left / data-late every minute: both in the user's language."""
    import datetime as dt

    from django.template.loader import render_to_string
    from django.utils import translation

    running = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
    with translation.override("zh-hans"):
        html = render_to_string(
            "complaints/_clock.html",
            {"d": {"running": running, "minutes_left": 30, "overdue_minutes": 0}},
        )

    assert 'data-left="剩余 %(n)s 分钟" data-late="已超时 %(n)s 分钟">剩余 30 分钟</time>' in html
