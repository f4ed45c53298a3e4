"""``chambers/`` is the pure edge: it never imports the portal, Flask or SQLAlchemy.

Third-party adapters build on ``chambers`` alone; an import of the portal would drag the web
application and the database layer into every adapter (and into a chamber copying ``signing.py``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import chambers

PACKAGE_DIR = Path(chambers.__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def forbidden(module: str) -> bool:
    """The portal, Flask and its extensions (``flask_*``), SQLAlchemy."""
    top = module.split(".", 1)[0]
    return top in {"bizportal", "flask", "sqlalchemy"} or top.startswith("flask_")


def imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import, also inside functions and ``import_module("x")``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_chambers_source_file_imports_the_portal_flask_or_sqlalchemy():
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(files) > 15  # the walk really sees the package
    offending = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {module}"
        for path in files
        for line, module in imported_names(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if forbidden(module)
    ]
    assert offending == []


CHILD = """
import json, pkgutil, importlib, sys
import chambers
names = sorted(m.name for m in pkgutil.walk_packages(chambers.__path__, "chambers."))
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_every_chambers_module_loads_no_portal_flask_or_sqlalchemy():
    # a fresh interpreter: this test process has the portal loaded through tests/conftest.py
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"chambers.base", "chambers.wire", "chambers.registry", "chambers.fitconnect.adapter"} <= set(
        report["imported"]
    )
    assert [m for m in report["loaded"] if forbidden(m)] == []


def test_the_checks_recognise_a_forbidden_import():
    source = (
        "import flask\n"
        "from sqlalchemy.orm import Session\n"
        "def later():\n"
        "    from bizportal.extensions import db\n"
        "    importlib.import_module('flask_sqlalchemy')\n"
        "from . import base\n"
        "import requests\n"
    )
    hits = [module for _, module in imported_names(ast.parse(source)) if forbidden(module)]
    assert hits == ["flask", "sqlalchemy.orm", "bizportal.extensions", "flask_sqlalchemy"]
