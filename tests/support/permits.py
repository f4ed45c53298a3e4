"""The permit forms (§ 34c, § 34a, Gaststätte) filled as a sole trader in Hamburg: the answers,
the files, walking the steps, and what the receiving office gets."""

from __future__ import annotations

from sqlalchemy import select

from bizportal.delivery import jobs
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.filing import PERMIT_DECLARATIONS, EveryStep, path_of, post_step, start_draft
from tests.support.pdfs import minimal_pdf

MAKLER, BEWACHUNG, GASTSTAETTE = "immobilienmakler-34c", "bewachungserlaubnis-34a", "gaststaettenerlaubnis"
PERMITS = (MAKLER, BEWACHUNG, GASTSTAETTE)
PDF = (minimal_pdf("nachweis"), "Nachweis.pdf")
FILES = {name: PDF for name in ("steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis", "sachkunde",
                                "versicherung", "grundriss", "mietvertrag", "handelsregisterauszug")}


def answers(**changes: str) -> EveryStep:
    """A sole trader in Hamburg who answers every declaration "no"; fits all three permits."""
    every = EveryStep({
        "business_name": "Hansen Versicherungsmakler e. K.", "legal_form": "e. K.", "gaststaette_name": "Elbblick",
        "betriebsanschrift-street": "Große Elbstraße 14", "betriebsanschrift-postcode": "22767",
        "betriebsanschrift-city": "Hamburg", "juristische_person": "no", "betriebsart": "kneipe",
        "betriebsart_gastg": "schankwirtschaft", "uebernahme": "no",
        "antragsteller-family_name": "Hansen", "antragsteller-given_names": "Lea",
        "antragsteller-birth_date": "1984-08-08", "antragsteller-birth_place": "Kiel",
        "wohnanschrift-street": "Elbchaussee 112", "wohnanschrift-postcode": "22763", "wohnanschrift-city": "Hamburg",
        "email": "lea@hansen-versicherungen.example", "telefon": "040 31975520",
        "geschlecht": "weiblich", "staatsangehoerigkeit": "DE", "geburtsland": "DE",
        **{d: "no" for d in PERMIT_DECLARATIONS}, "fruehere_erlaubnis": "no", "einwilligung_bewacherregister": "yes",
        "vorlaeufige_erlaubnis": "no", "einrichtung_art": "neueinrichtung", "personaltoilette": "no",
        "taetigkeiten": "makler", "makler_objekte": ["wohnraeume", "gewerbliche_raeume"],
        "bautraeger_vermoegenswerte": ["erwerber"],
        "beginn": "2027-03-01", "taetigkeit": "Revierdienst für Baustellen", "beschaeftigte": "2",
        "zahl_beschaeftigte": "3", "taetigkeit_umfang": "ohne_einschraenkung", "dienstkleidung": "no",
        "versicherer": "Hamburger Feuerkasse Versicherungs-AG", "summe_personenschaeden": "1000000",
        "summe_sachschaeden": "250000", "summe_abhandenkommen": "15000", "summe_vermoegensschaeden": "12500",
        "summe_gesamt": "1000000",
        "flaeche_gastraum": "60", "sitzplaetze": "35", "aussengastronomie": "no", "musik_veranstaltungen": "no",
        "eroeffnung": "2027-05-01",
    })
    every.update(changes)
    return every


def visited(client, service: str, every: EveryStep, files: dict | None = None) -> list[str]:
    """The keys of the steps shown while posting ``every`` (and ``files``, default ``FILES``) up to the review."""
    path, keys = start_draft(client, service), []
    while not path.endswith("/pruefen") and len(keys) < 40:
        keys.append(path.rsplit("/", 1)[-1])
        resp = post_step(client, path, every, files=FILES if files is None else files)
        assert resp.status_code == 302, (path, resp.get_data(as_text=True)[:2000])
        path = path_of(resp.headers["Location"])
    return keys


def to_step(client, service: str, every: EveryStep, step: str, files: dict | None = None) -> str:
    """Post the steps before ``step`` (with ``files``, default ``FILES``); returns its path."""
    path = start_draft(client, service)
    for _ in range(40):
        if path.rsplit("/", 1)[-1] == step:
            return path
        resp = post_step(client, path, every, files=FILES if files is None else files)
        assert resp.status_code == 302, (path, resp.get_data(as_text=True)[:2000])
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"step {step} not reached")


def payload_of(app, reference: str):
    """What the receiving office gets for the filing (the adapter's payload of its delivery)."""
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        delivery = db.session.scalar(select(Delivery).where(Delivery.filing_id == filing.id))
        ext = app.extensions["bizportal"]
        return jobs.payload(jobs.read_jobs([delivery.id])[delivery.id], ext.catalog, ext.storage)
