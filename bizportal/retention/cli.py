"""``flask --app wsgi retention run [--dry-run]``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    pass
