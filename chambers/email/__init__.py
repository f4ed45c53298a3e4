"""The ``email`` adapter: the filing as an e-mail with a PDF, ``filing.json`` and the attachments.

``EmailAdapter.sign_or_encrypt`` is the extension point for S/MIME or OpenPGP.
"""

from typing import Any

from .adapter import EmailAdapter
from .message import build_message, message_id


def render_pdf(payload: Any) -> bytes:
    """``pdf.render_pdf``; fpdf2 (with fontTools and Pillow, about 33 MB) is imported at the first
    PDF, not with the adapter."""
    from .pdf import render_pdf as render

    return render(payload)


__all__ = ["EmailAdapter", "build_message", "message_id", "render_pdf"]
