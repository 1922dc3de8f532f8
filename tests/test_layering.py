"""Architecture rules checked on the source: permission questions live in the policy module,
the engine never imports Django, and the domain never imports the web or API layer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import retain

SRC = Path(retain.__file__).parent
POLICY = SRC / "accounts" / "access.py"

#: A test of a user's role (``user.role in {...}``, ``role == Role.ADMIN``, ...) or of the
#: superuser flag: permission questions that only the policy module may ask.
ROLE_TEST = re.compile(
    r"\brole\s*(==|!=|\bnot\s+in\b|\bin\b)"
    r"|(==|!=)\s*Role\.\w+"
    r"|\bRole\.\w+\s*(==|!=|\bnot\s+in\b|\bin\b)"
    r"|\.is_superuser\b(?!\s*=[^=])"
)
#: The layers above the domain, and the project modules that compose the layers.
INTERFACE_APPS = {"web", "api"}
PROJECT_MODULES = {"cli.py", "urls.py", "settings.py", "wsgi.py"}


def _sources(*patterns: str) -> list[Path]:
    return sorted(
        p for pattern in patterns for p in SRC.rglob(pattern) if "migrations" not in p.parts
    )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def role_tests_outside_policy(root: Path = SRC) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".py", ".html"} or "migrations" in path.parts or path == POLICY:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ROLE_TEST.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_role_test_outside_the_policy_module():
    assert role_tests_outside_policy() == []


def test_the_role_grep_finds_the_checks_it_forbids(tmp_path):
    for line in [
        "if user.role in {Role.ADMIN, Role.MANAGER}:",
        "if request.user.role == 'sales':",
        "allowed = role not in EDITORS",
        "if Role.ANALYST == user.role:",
        "if not actor.is_superuser:",
        "{% if user.role == 'admin' %}",
    ]:
        (tmp_path / "x.py").write_text(line + "\n")
        assert role_tests_outside_policy(tmp_path) == [f"x.py:1: {line}"], line
    (tmp_path / "x.py").write_text("user.is_superuser = role_is_superuser(role)\n")
    assert role_tests_outside_policy(tmp_path) == []


def test_the_engine_never_imports_django_or_the_app():
    offenders = {
        str(path.relative_to(SRC)): sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] == "django"
            or (name.startswith("retain.") and not name.startswith("retain.analytics"))
        )
        for path in _sources("analytics/*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_apps_never_import_the_web_or_api_layer():
    """Services, selectors, models, jobs and admin of the domain apps; their own pages
    (``views.py``, ``*_views.py``, ``urls.py``) are web doors and may share web helpers."""
    offenders = {}
    for path in _sources("*.py"):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2 or parts[0] in INTERFACE_APPS | {"analytics"}:
            continue
        if path.name in {"views.py", "urls.py"} or path.name.endswith("_views.py"):
            continue
        bad = sorted(
            n for n in _imports(path) if n.split(".")[:2] in (["retain", "web"], ["retain", "api"])
        )
        if bad:
            offenders[str(path.relative_to(SRC))] = bad
    assert offenders == {}


def test_the_layering_check_sees_a_domain_import_of_the_web_layer(tmp_path):
    module = tmp_path / "services.py"
    module.write_text("from retain.web.selectors import open_complaints_count\nimport django.db\n")
    assert _imports(module) == {"retain.web.selectors", "django.db"}
