"""Changing the service catalog as an operator does: a shipped definition edited and imported."""

from __future__ import annotations

from pathlib import Path


def import_renamed_gewerbeanmeldung(app, tmp_path: Path, title: str) -> None:
    """Import the shipped Gewerbeanmeldung with its German title changed to ``title``
    (``flask catalog import --replace``)."""
    shipped = Path(app.root_path) / "catalog" / "services" / "gewerbeanmeldung.toml"
    changed = tmp_path / "gewerbeanmeldung.toml"
    changed.write_text(shipped.read_text(encoding="utf-8").replace(
        'title = { de = "Gewerbeanmeldung",', f'title = {{ de = "{title}",', 1), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["catalog", "import", "--replace", str(changed)])
    assert result.exit_code == 0, result.output
