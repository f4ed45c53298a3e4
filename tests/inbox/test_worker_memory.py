"""A web worker does not carry what only some requests need: the PDF library (fpdf2 with fontTools
and Pillow, about 33 MB a process) comes with the first PDF, not with the portal
(the PDF tests of the receipts, the e-mail adapter and the case export render them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from bizportal import create_app
app = create_app()
print(sorted(m for m in ("fpdf", "fontTools", "PIL") if m in sys.modules))
from chambers.email import render_pdf
print(sorted(m for m in ("fpdf", "fontTools", "PIL") if m in sys.modules))
"""


def test_the_portal_starts_without_the_pdf_library(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update(BIZPORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'probe.db'}", BIZPORTAL_INSTANCE_PATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    started, after_import = out.stdout.strip().splitlines()[-2:]
    assert started == "[]"
    assert after_import == "[]"  # importing the adapter's render_pdf does not load it either
