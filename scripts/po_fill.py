"""Fill empty msgstr entries of the Chinese catalogue from a Python dict file.

Usage: python scripts/po_fill.py TRANSLATIONS.py   (the file defines ZH = {msgid: msgstr})
Prints the msgids still untranslated. The .po file stays the source of truth.
"""

import runpy
import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "src/retain/locale/zh_Hans/LC_MESSAGES/django.po"

table = runpy.run_path(sys.argv[1])["ZH"] if len(sys.argv) > 1 else {}
po = polib.pofile(str(PO))
for entry in po:
    if entry.msgid in table and (not entry.msgstr or entry.fuzzy):
        entry.msgstr = table[entry.msgid]
        if entry.fuzzy:
            entry.flags.remove("fuzzy")
po.save()
po.save_as_mofile(str(PO.with_suffix(".mo")))
missing = [e.msgid for e in po.untranslated_entries()]
print("untranslated:", missing)
