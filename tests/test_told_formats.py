"""File sizes follow the page's language (Babel), on pages and on the receipt."""

from __future__ import annotations

from flask_babel import force_locale

from bizportal.common.formats import filesize


def test_file_sizes_in_german_and_english(app):
    with app.test_request_context():
        with force_locale("de"):
            assert filesize(1536) == "1,5\u00a0KB" and filesize(3 * 1024 * 1024) == "3\u00a0MB"
            assert filesize(812) == "812 Bytes"
        with force_locale("en"):
            assert filesize(1536) == "1.5\u00a0KB" and filesize(1234567) == "1.2\u00a0MB"
            assert filesize(812) == "812 bytes"
