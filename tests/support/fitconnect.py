"""A filing whose primary body is reached through FIT-Connect, and reads of its delivery and timeline."""

from __future__ import annotations

from sqlalchemy import select, update

from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import FilingEvent
from tests.support.adapters import fit_options
from tests.support.factories import make_filing, set_adapter
from tests.support.pdfs import minimal_pdf

PDF = minimal_pdf("Erlaubnis nach der Gewerbeordnung " * 500)  # several chunks of the encrypted upload
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
FIT = "gewerbeamt-bremen"  # the Gewerbeanmeldung's primary body, here reached through FIT-Connect


def fit_filing(app, url, state) -> int:
    """A Gewerbeanmeldung with two attachments; its copy to the HWK waits (chamber disabled)."""
    set_adapter(app, FIT, "fitconnect", fit_options(url, state))
    filing_id = make_filing(app, service_key="gewerbeanmeldung", handwerk=True,
                            files={"erlaubnis": ("Erlaubnis.pdf", PDF), "handwerkskarte": ("Karte.png", PNG)})
    with app.app_context():
        db.session.execute(update(Chamber).where(Chamber.slug == "hwk-bremen").values(enabled=False))
        db.session.commit()
    return filing_id


def fit_delivery(app, filing_id) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).join(Chamber, Chamber.id == Delivery.chamber_id)
                              .where(Delivery.filing_id == filing_id, Chamber.slug == FIT))
        db.session.expunge(d)
        return d


def forwarded_entries(app, filing_id) -> int:
    with app.app_context():
        return len(db.session.scalars(select(FilingEvent).where(
            FilingEvent.filing_id == filing_id, FilingEvent.kind == "forwarded")).all())
