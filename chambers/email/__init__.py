"""The ``email`` adapter: the filing as an e-mail with a PDF, ``filing.json`` and the attachments.

``EmailAdapter.sign_or_encrypt`` is the extension point for S/MIME or OpenPGP.
"""

from .adapter import EmailAdapter
from .message import build_message, message_id
from .pdf import render_pdf

__all__ = ["EmailAdapter", "build_message", "message_id", "render_pdf"]
