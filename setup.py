"""Packaging. The metadata and dependencies are in setup.cfg; this file says which files a wheel
carries, because two of the run-time folders live at the top of the checkout: ``templates/`` and
``migrations/`` travel in the wheel as ``bizportal/templates`` and ``bizportal/migrations``
(``bizportal.resource_dir`` finds either place).

The front-end assets (``bizportal/static/vendor``) and the compiled translations are built, not
committed: ``bin/setup`` builds them, and a wheel built without them would serve pages without
styles or English, so building one stops with a message instead.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

#: built files a wheel must carry; without them the installed portal would look broken
BUILT = {
    "bizportal/static/vendor/kern": "bin/assets",
    "bizportal/translations/en/LC_MESSAGES/messages.mo": "bin/translations compile",
}


class BuildPy(build_py):
    """``build_py`` that refuses to build a wheel without the built assets and translations."""

    def run(self) -> None:
        if not getattr(self, "editable_mode", False):
            missing = [f"{path} (run {command})" for path, command in BUILT.items() if not (HERE / path).exists()]
            if missing:
                raise SystemExit("bizportal: build the assets first (bin/setup does it); missing: "
                                 + "; ".join(missing))
        super().run()


setup(
    packages=find_packages(include=["bizportal", "bizportal.*", "chambers", "chambers.*"])
    + ["bizportal.templates", "bizportal.migrations", "bizportal.migrations.versions"],
    package_dir={
        "bizportal.templates": "templates",
        "bizportal.migrations": "migrations",
        "bizportal.migrations.versions": "migrations/versions",
    },
    package_data={
        "bizportal": ["catalog/services/*.toml", "catalog/bundles/*.toml", "catalog/data/*",
                      "translations/*/LC_MESSAGES/*", "static/**/*"],
        "bizportal.templates": ["**/*.html", "**/*.txt", "**/*.xml", "**/*.svg"],
        "bizportal.migrations": ["README", "alembic.ini", "script.py.mako"],
        "chambers": ["fitconnect/*.json", "fitconnect/*.md"],
    },
    include_package_data=False,
    cmdclass={"build_py": BuildPy},
)
