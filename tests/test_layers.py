"""The import graph runs one way: features → bodies → common (and chambers/ stands alone).

Read from the source (every ``import`` and ``from … import``, also inside functions), so a lazy
import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "bizportal"

#: the lowest layers and what each may import from bizportal
ALLOWED = {
    "common": {"common", "extensions", "config"},
    "bodies": {"common", "extensions", "config", "bodies"},
}
#: between delivery and filings only the public functions and read models named here
CROSSING = {
    "filings": {"delivery.services"},
    "delivery": {"filings.lifecycle", "filings.models", "filings.states", "filings.notifications",
                 "filings.xgewerbeanzeige"},  # a pure builder of the standard message from plain data
}


def _module_name(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> set[str]:
    """Dotted names below ``bizportal`` the module imports at run time (relative imports resolved;
    imports under ``if TYPE_CHECKING:`` are annotations only and do not count)."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for block in ast.walk(tree)
                   if isinstance(block, ast.If) and isinstance(block.test, ast.Name)
                   and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            names = [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("bizportal."):
                found.add(name.removeprefix("bizportal."))
    return found


def _modules(layer: str) -> list[Path]:
    return sorted((PKG / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_no_feature(layer):
    wrong = {}
    for path in _modules(layer):
        bad = {name for name in _imports(path) if name.split(".")[0] not in ALLOWED[layer]}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert wrong == {}


@pytest.mark.parametrize("feature,other", [("filings", "delivery"), ("delivery", "filings")])
def test_delivery_and_filings_meet_only_through_public_functions(feature, other):
    wrong = {}
    for path in _modules(feature):
        bad = {name for name in _imports(path)
               if name.split(".")[0] == other and not any(name == ok or name.startswith(ok + ".")
                                                          for ok in CROSSING[feature])}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert wrong == {}


def test_the_scan_sees_relative_and_lazy_imports(tmp_path):
    """The scan is not blind: a lazy relative import of a feature inside bodies is reported."""
    probe = PKG / "bodies" / "_probe_for_test.py"
    probe.write_text("def f():\n    from ..filings import lifecycle\n    from ..delivery.models import Delivery\n")
    try:
        assert _imports(probe) == {"filings.lifecycle", "delivery.models.Delivery"}
    finally:
        probe.unlink()


def test_tests_take_helpers_from_tests_support_not_from_conftest_or_other_tests():
    wrong = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                parts = package.split(".")
                mod = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            last = mod.rsplit(".", 1)[-1]
            if mod.startswith("tests") and (last == "conftest" or last.startswith("test_")):
                if mod == "tests.test_services_e2e":  # its table of cases is shared data, not a helper
                    continue
                wrong.setdefault(str(path.relative_to(ROOT)), []).append(mod)
    assert wrong == {}
