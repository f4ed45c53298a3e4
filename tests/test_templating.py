"""Template texts follow the language of the moment, also when it changes within one request
(a German page that renders an English mail or receipt with ``force_locale``)."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale, refresh

PAGE = "{{ _('Meine Anträge') }}"


def test_a_language_forced_within_a_request_is_used_and_given_back(app):
    with app.test_request_context("/"):
        assert render_template_string(PAGE) == "Meine Anträge"
        with force_locale("en"):
            assert render_template_string(PAGE) == "My applications"
        assert render_template_string(PAGE) == "Meine Anträge"


def test_a_language_switched_within_a_request_is_used_from_then_on(app):
    with app.test_request_context("/"):
        from flask import session

        assert render_template_string(PAGE) == "Meine Anträge"
        session["lang"] = "en"
        refresh()
        assert render_template_string(PAGE) == "My applications"


def test_a_status_badge_reads_the_same_imported_or_included(app):
    with app.test_request_context("/"):
        included = render_template_string('{% set f = {"status": "received"} %}{% include "filings/_status.html" %}')
        imported = render_template_string('{% import "filings/_status.html" as b %}{{ b.status("received") }}')
        with force_locale("en"):
            english = render_template_string('{% import "filings/_status.html" as b %}{{ b.status("received") }}')
    assert included == imported and ">Eingegangen<" in included
    assert ">Received<" in english
