"""Queueing mails with their event, and the language they are written in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.auth.models import Person
from bizportal.common.states import TransitionRefused
from bizportal.extensions import db
from bizportal.notify import services as notify
from bizportal.notify.models import Notification
from bizportal.notify.states import NotificationState
from tests.support.mailqueue import add_filing, notification, notification_count, queue_received, send_due


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(app, smtp):
    with app.app_context():
        filing = add_filing()
        assert notify.enqueue_filing_received(db.session, filing) is not None
        db.session.rollback()  # the submit failed after the mail was queued

    assert send_due(app) == 0
    assert notification_count(app) == 0
    assert smtp.recorder.messages == []


def test_status_mail_goes_to_the_company_address_and_names_the_chamber_and_its_message(app, smtp):
    with app.app_context():
        filing = add_filing(notification_email="post@firma.example")
        queued = notify.enqueue_status_changed(db.session, filing, "information_requested",
                                               "Bitte reichen Sie den Nachweis der Haftpflicht nach.",
                                               "Handelskammer Bremen")
        db.session.commit()
        reference, queued_id = filing.reference, queued.id

    assert send_due(app) == 1
    [mail] = smtp.mails()
    assert smtp.recipients() == [["post@firma.example"]]
    assert mail["Subject"] == f"Neuer Stand zu {reference}"
    body = mail.get_body(("plain",)).get_content()
    assert f"Handelskammer Bremen bittet um weitere Angaben (Aktenzeichen {reference})." in body
    assert "Nachricht: Bitte reichen Sie den Nachweis der Haftpflicht nach." in body
    assert f"Stand und Verlauf: https://portal.example/antraege/{reference}" in body
    assert list(mail.iter_attachments()) == []
    assert notification(app, queued_id).state == NotificationState.SENT


@pytest.mark.parametrize("kind", ["received", "in_progress"])
def test_steps_that_only_show_on_the_page_queue_no_mail(app, smtp, kind):
    with app.app_context():
        filing = add_filing()
        assert notify.enqueue_status_changed(db.session, filing, kind, None, "Handelskammer Bremen") is None
        db.session.commit()

    assert send_due(app) == 0
    assert notification_count(app) == 0 and smtp.recorder.messages == []


def test_no_mail_is_queued_without_any_address(app, smtp):
    with app.app_context():
        filing = add_filing(person_email=None)
        assert notify.enqueue_filing_received(db.session, filing) is None
        assert notify.enqueue_status_changed(db.session, filing, "accepted", None, "Handelskammer Bremen") is None
        db.session.commit()

    assert send_due(app) == 0
    assert notification_count(app) == 0 and smtp.recorder.messages == []


def test_mail_language_follows_the_persons_choice(app, smtp):
    english, en_ref = queue_received(app, person_email="emma@firm.example", locale="en")
    german, de_ref = queue_received(app, person_email="anna@firma.example")  # never chose: German
    title = app.extensions["bizportal"].catalog["versicherungsvermittler-34d"].title

    assert send_due(app) == 2
    mails = {m["To"]: m for m in smtp.mails()}

    en = mails["emma@firm.example"]
    assert en["Subject"] == f"Acknowledgement of receipt {en_ref}: {title.en}"
    en_body = en.get_body(("plain",)).get_content()
    assert en_body.splitlines()[0] == "Hello,"
    assert f"Your application “{title.en}” has been received by the portal “" in en_body
    assert f"Reference number: {en_ref}" in en_body
    [en_pdf] = en.iter_attachments()
    assert en_pdf.get_filename() == f"Receipt-{en_ref}.pdf"  # the receipt in her language too

    de = mails["anna@firma.example"]
    assert de["Subject"] == f"Eingangsbestätigung {de_ref}: {title.de}"
    de_body = de.get_body(("plain",)).get_content()
    assert de_body.splitlines()[0] == "Guten Tag," and f"Aktenzeichen: {de_ref}" in de_body
    assert "Hello" not in de_body
    assert {notification(app, english).state, notification(app, german).state} == {NotificationState.SENT}


#: what a browser sends when the language link on a page of the portal is followed
FROM_THE_SITE = {"Referer": "http://localhost/antraege", "Sec-Fetch-Site": "same-origin"}


def test_language_switched_while_logged_in_is_used_for_later_mails(app, client, login_as, smtp):
    login_as("anna.becker")
    assert client.get("/sprache/en", headers=FROM_THE_SITE).status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "anna.becker"))
        assert person.locale == "en"
        filing = add_filing(person=person)
        notify.enqueue_status_changed(db.session, filing, "accepted", None, "Handelskammer Bremen")
        db.session.commit()
        reference = filing.reference

    assert send_due(app) == 1
    [mail] = smtp.mails()
    assert mail["To"] == "anna.becker@becker-elektro.example"
    assert mail["Subject"] == f"New status of {reference}"
    assert (f"Handelskammer Bremen has approved your application (reference number {reference})."
            in mail.get_body(("plain",)).get_content())

    client.get("/sprache/de", headers=FROM_THE_SITE)
    with app.app_context():
        assert db.session.scalar(select(Person.locale).where(Person.sub == "anna.becker")) == "de"
    # After the next login (a new session) the pages are in the stored language too.
    client.get("/sprache/en", headers=FROM_THE_SITE)
    login_as("anna.becker")
    page = client.get("/antraege")
    assert page.status_code == 200 and '<html lang="en"' in page.get_data(as_text=True)


def test_a_language_link_on_another_site_does_not_change_the_mail_language(app, client, login_as):
    login_as("anna.becker")
    client.get("/sprache/en", headers=FROM_THE_SITE)
    for headers in ({"Referer": "https://evil.example/page"}, {},
                    {"Referer": "http://localhost/antraege", "Sec-Fetch-Site": "cross-site"}):
        assert client.get("/sprache/de", headers=headers).status_code == 302
        with app.app_context():
            assert db.session.scalar(select(Person.locale).where(Person.sub == "anna.becker")) == "en"


def test_staff_can_switch_language_without_a_stored_choice(app, client, login_as):
    login_as("hwk.bremen", staff=True)
    assert client.get("/sprache/en").status_code == 302
    assert '<html lang="en"' in client.get("/staff/posteingang").get_data(as_text=True)


def test_a_sent_mail_cannot_be_queued_again(app, smtp):
    notification_id, _ref = queue_received(app)
    assert send_due(app) == 1
    with app.app_context():
        row = db.session.get_one(Notification, notification_id)
        with pytest.raises(TransitionRefused):
            row.state = NotificationState.PENDING
        db.session.rollback()
    assert notification(app, notification_id).state == NotificationState.SENT
