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
        from datetime import UTC, datetime

        from flask import session

        when = "{{ at|datetimeformat }}"
        at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
        assert render_template_string(PAGE) == "Meine Anträge"
        assert render_template_string(when, at=at) == "01.07.2026, 12:00:00"
        session["lang"] = "en"
        refresh()
        assert render_template_string(PAGE) == "My applications"
        assert render_template_string(when, at=at) == "Jul 1, 2026, 12:00:00\u202fPM"  # the date's language too


def test_a_translated_text_escapes_its_values_on_a_page_and_leaves_them_in_a_text_mail(app):
    with app.test_request_context("/"):
        text = "{{ _('Nachricht an %(chamber)s', chamber=name) }} {{ _('100%% digital') }}"
        assert render_template_string(text, name="A & <B>") == "Nachricht an A &amp; &lt;B&gt; 100% digital"
        mail = "{% autoescape false %}" + text + "{% endautoescape %}"  # as a .txt template renders it
        assert render_template_string(mail, name="A & <B>") == "Nachricht an A & <B> 100% digital"
        with force_locale("en"):
            assert render_template_string(text, name="A & B").startswith("Message to A &amp; B")


def test_a_status_badge_reads_the_same_imported_or_included(app):
    with app.test_request_context("/"):
        included = render_template_string('{% set f = {"status": "received"} %}{% include "filings/_status.html" %}')
        imported = render_template_string('{% import "filings/_status.html" as b %}{{ b.status("received") }}')
        with force_locale("en"):
            english = render_template_string('{% import "filings/_status.html" as b %}{{ b.status("received") }}')
    assert included == imported and ">Eingegangen<" in included
    assert ">Received<" in english


def test_dates_and_times_read_as_flask_babel_writes_them_in_both_languages_and_across_summer_time(app):
    """``datetimeformat`` (its own faster formatter) gives Flask-Babel's medium text in the
    portal's time zone: naive values as UTC, the hours around both changes of summer time."""
    from datetime import UTC, datetime, timedelta

    from flask_babel import format_datetime

    values = [datetime(2026, 3, 29, 0, 30, tzinfo=UTC) + timedelta(minutes=17 * i) for i in range(12)]
    values += [datetime(2026, 10, 25, 0, 30, tzinfo=UTC) + timedelta(minutes=17 * i) for i in range(12)]
    values += [datetime(2026, 12, 31, 23, 59, 59), datetime(2027, 7, 1, 12, 0, 5, tzinfo=UTC)]
    page = "{{ value|datetimeformat }}"
    with app.test_request_context("/"):
        for lang in ("de", "en"):
            with force_locale(lang):
                for value in values:
                    assert render_template_string(page, value=value) == format_datetime(value, "medium"), value
        assert render_template_string(page, value=datetime(2026, 10, 25, 1, 0, 1, tzinfo=UTC)) == "25.10.2026, 02:00:01"
        assert render_template_string(page, value=datetime(2026, 12, 31, 23, 0)) == "01.01.2027, 00:00:00"
        with force_locale("en"):
            noon = render_template_string(page, value=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
            assert noon == "Jul 1, 2026, 12:00:00\u202fPM"
        assert render_template_string(page, value=None) == "–"


def test_every_time_of_day_reads_as_babel_writes_it_in_both_languages_and_other_patterns():
    """The time of day is written without Babel's formatter (``_clock``): the times of a day
    give Babel's text in German, English and other languages (midnight, noon, AM/PM, every hour and
    minute), and a pattern with other fields (a zone, a 24-hour "k", quoted text) too."""
    from datetime import datetime, timedelta

    from babel import Locale
    from babel.dates import get_time_format, parse_pattern

    from bizportal.web.templating import _clock

    start = datetime(2026, 12, 5)
    times = [start + timedelta(seconds=s) for s in range(0, 86_400, 7)]  # 7: every minute, other seconds
    times += [start.replace(hour=h, minute=m, second=s) for h in (0, 11, 12, 23) for m in (0, 59) for s in (0, 59)]
    for lang in ("de", "en", "en_GB", "fr", "ja", "ar"):
        locale = Locale.parse(lang)
        pattern = get_time_format("medium", locale=locale)
        clock = _clock(pattern, locale)
        for value in times:
            assert clock(value) == pattern.apply(value, locale), (lang, value)
    de = Locale.parse("de")
    for text in ("HH:mm:ss z", "k:mm", "K:mm a", "HH 'Uhr' mm", "hh:mm:ss aaaa"):
        pattern = parse_pattern(text)
        for value in times[::50]:
            assert _clock(pattern, de)(value) == pattern.apply(value, de), (text, value)
