"""docs/architecture.md shows the map of src/retain: every package in the tree has a line in
the map, and every folder the map names exists."""

from __future__ import annotations

import re
from pathlib import Path

import retain

SRC = Path(retain.__file__).parent
MAP = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _map_folders(text: str) -> set[str]:
    block = text.split("```", 2)[1]
    return {m.group(1) for m in re.finditer(r"^  ([a-z_0-9]+)/", block, flags=re.M)}


def _packages(root: Path) -> set[str]:
    return {
        p.name
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith(("_", "."))
        # a folder left with only bytecode after a rename is not a package
        and any(f.is_file() and "__pycache__" not in f.parts for f in p.rglob("*"))
    }


def test_every_package_is_on_the_map_and_every_folder_on_the_map_exists():
    on_map = _map_folders(MAP.read_text(encoding="utf-8"))
    in_tree = _packages(SRC)
    assert sorted(in_tree - on_map) == [], "packages missing from docs/architecture.md"
    assert sorted(on_map - in_tree) == [], "docs/architecture.md names folders that are gone"


def test_the_map_reader_sees_a_missing_package(tmp_path):
    (tmp_path / "loyalty").mkdir()
    (tmp_path / "loyalty" / "__init__.py").write_text("")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "models.py").write_text("")
    (tmp_path / "feedback" / "__pycache__").mkdir(parents=True)
    (tmp_path / "feedback" / "__pycache__" / "models.cpython-311.pyc").write_text("")
    text = "# Map\n\n```\nsrc/retain/\n  tasks/   to-dos\n  gone/    removed\n```\n"
    assert _packages(tmp_path) - _map_folders(text) == {"loyalty"}
    assert _map_folders(text) - _packages(tmp_path) == {"gone"}
