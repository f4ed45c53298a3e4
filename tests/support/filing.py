"""Driving the multi-step filing flow over HTTP, as a person with a browser would."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

from tests.support.http import csrf_token, page_marks, submit_form
from tests.support.pdfs import minimal_pdf

REFERENCE_RE = re.compile(r"BP-\d{4}-[2-9A-Z]{6}")


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_draft(client, service_key: str) -> str:
    """Press "Antrag beginnen"; returns the path of the first step."""
    page = client.get(f"/leistungen/{service_key}/antrag")
    assert page.status_code == 200, page.status_code
    token = csrf_token(page.get_data(as_text=True))
    resp = client.post(f"/leistungen/{service_key}/antrag", data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return path_of(resp.headers["Location"])


def post_step(client, step_path: str, answers: dict, files: dict | None = None, action: str = "next"):
    """Open a step and submit it with ``answers`` (form field names) and ``files`` (name → (bytes, filename))."""
    page = client.get(step_path)
    assert page.status_code == 200, (step_path, page.status_code)
    html = page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(html), **page_marks(html), "action": action, **answers}
    for name, (content, filename) in (files or {}).items():
        import io

        data[name] = (io.BytesIO(content), filename)
    return client.post(step_path, data=data, content_type="multipart/form-data")


class EveryStep(dict):
    """The answers of a whole filing, keyed by form field name: each step takes the ones it shows
    (a form ignores names it does not have), so one dict fills a form of many steps."""


MAX_STEPS = 40


def fill_steps(client, path: str, answers: EveryStep, files: dict | None = None) -> str:
    """Post ``answers`` on the step at ``path`` and every step after it; returns the review path.
    Each step must be accepted (else the assertion shows the page with its errors)."""
    for _ in range(MAX_STEPS):
        if path.endswith("/pruefen"):
            return path
        resp = post_step(client, path, answers, files=files)
        assert resp.status_code == 302, (path, resp.get_data(as_text=True)[:3000])
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"more than {MAX_STEPS} steps")


def visited_steps(client, path: str, answers: EveryStep) -> list[str]:
    """The keys of the steps ``fill_steps`` goes through from ``path`` (for conditional steps)."""
    keys = []
    while not path.endswith("/pruefen") and len(keys) < MAX_STEPS:
        keys.append(path.rsplit("/", 1)[-1])
        path = path_of(post_step(client, path, answers).headers["Location"])
    return keys


def file_service(client, service_key: str, steps: list[dict] | dict[str, dict] | EveryStep,
                 files: dict | None = None) -> str:
    """Fill every step in order and submit; returns the filing's reference.

    ``steps`` is a list of answers, one per step; or a dict step key → answers, which also checks
    that exactly these steps are shown, in this order (for conditional steps); or ``EveryStep``
    answers for the whole form.
    """
    path = start_draft(client, service_key)
    if isinstance(steps, EveryStep):
        path = fill_steps(client, path, steps, files)
    keyed = [] if isinstance(steps, EveryStep) else (
        list(steps.items()) if isinstance(steps, dict) else [(None, answers) for answers in steps])
    for step_key, answers in keyed:
        if step_key is not None:
            assert path.rsplit("/", 1)[-1] == step_key, f"expected step {step_key!r}, the portal shows {path}"
        resp = post_step(client, path, answers, files=files)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        path = path_of(resp.headers["Location"])
    assert path.endswith("/pruefen"), path
    review = client.get(path)
    assert review.status_code == 200
    resp = client.post(path, data=submit_form(review.get_data(as_text=True)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    match = REFERENCE_RE.search(resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(0)


#: one person of a GewA 1/2/3 (a German managing director), as the group's form fields of entry 0
GESCHAEFTSFUEHRERIN = {
    "personen-0-funktion": "vertreter", "personen-0-familienname": "Becker", "personen-0-vornamen": "Anna",
    "personen-0-geschlecht": "weiblich", "personen-0-geburtsdatum": "1980-05-17", "personen-0-geburtsort": "Bremen",
    "personen-0-geburtsland": "DE", "personen-0-staatsangehoerigkeit": "DE",
    "personen-0-anschrift-street": "Parkallee 5", "personen-0-anschrift-postcode": "28209",
    "personen-0-anschrift-city": "Bremen",
}


def gewerbe_answers(**changes) -> EveryStep:
    """The answers of a Gewerbeanmeldung (GewA 1) of a crafts business in Bremen (Gewerbeamt, copy to
    the HWK): a GmbH newly founded, one managing director, no permit, no craft card yet."""
    answers = EveryStep({
        "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
        "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345",
        **GESCHAEFTSFUEHRERIN,
        "zahl_vertreter": "1", "oeffentliche_hand": "nein",
        "street": "Am Wall 120", "postcode": "28195", "city": "Bremen", "niederlassung": "hauptniederlassung",
        "reisegewerbe": "no", "activity": "Elektroinstallation", "nebenerwerb": "no", "start_date": "2027-01-01",
        "wz2008": "43.21.0",
        "handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no", "vollzeit": "3", "teilzeit": "1",
        "grund": "neugruendung", "erlaubnispflichtig": "no", "handwerkskarte_vorhanden": "no",
    })
    answers.update(changes)
    return answers


def gewerbeummeldung_answers(**changes) -> EveryStep:
    """The answers of a Gewerbeummeldung (GewA 2) of the crafts GmbH of ``gewerbe_answers``: its
    premises at Am Wall 120 in Bremen move to Hastedter Heerstraße 285, also in Bremen."""
    answers = EveryStep({
        "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
        "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345",
        **GESCHAEFTSFUEHRERIN, "zahl_vertreter": "1", "oeffentliche_hand": "nein",
        "betriebsanschrift-street": "Am Wall 120", "betriebsanschrift-postcode": "28195",
        "betriebsanschrift-city": "Bremen", "grund": "verlegung",
        "neue_anschrift-street": "Hastedter Heerstraße 285", "neue_anschrift-postcode": "28207",
        "neue_anschrift-city": "Bremen", "taetigkeit": "Elektroinstallation", "nebenerwerb": "no",
        "aenderung_datum": "2027-01-01", "wz2008": "43.21.0", "handwerk": "yes", "industrie": "no", "handel": "no",
        "sonstiges": "no", "vollzeit": "3", "teilzeit": "1", "niederlassung": "hauptniederlassung",
        "reisegewerbe": "no", "erlaubnispflichtig": "no", "handwerk_bezeichnung": "Elektrotechniker",
        "handwerkskarte_vorhanden": "no",
    })
    answers.update(changes)
    return answers


def versicherungsvermittler_answers(**changes) -> EveryStep:
    """The answers of a § 34d licence: a sole trader in Hamburg applying as broker, certificate of
    good conduct ordered to be sent to the chamber, trade register extract uploaded, no work
    abroad, no employees involved (files: ``VERSICHERUNGSVERMITTLER_FILES``)."""
    answers = EveryStep({
        "antragsteller_art": "natuerliche_person", "applicant_name": "Lea Hansen", "geburtsdatum": "1984-08-08",
        "business_name": "Hansen Versicherungsmakler e. K.", "street": "Große Elbstraße 14", "postcode": "22767",
        "city": "Hamburg", "permit_type": "makler", "beginn": "2027-03-01",
        "grenzueberschreitend": "no", "mitwirkende_vorhanden": "no",
        "expertise_proven": "yes", "liability_insurance": "yes", "versicherer": "Hanseatische Haftpflicht VVaG",
        "fuehrungszeugnis": "beantragt", "gewerbezentralregister": "beigefuegt", "verurteilung": "no",
        "insolvenzverfahren": "no", "schuldnerverzeichnis_eintrag": "no", "sachkunde_art": "pruefung",
    })
    answers.update(changes)
    return answers


#: the uploads ``versicherungsvermittler_answers`` needs, as ``post_step`` takes them
VERSICHERUNGSVERMITTLER_FILES = {name: (minimal_pdf(name), f"{name}.pdf") for name in (
    "sachkundenachweis", "versicherungsnachweis", "gewerbezentralregister_datei", "schuldnerverzeichnis_auskunft",
    "insolvenzgericht_auskunft")}


#: a minimal PDF (magic bytes and trailer), accepted as a PDF upload
TEST_PDF = minimal_pdf("test")
#: the first step of ``tests/data/testantrag.toml``: a crafts business in Bremen (the crafts step follows)
TESTANTRAG_BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
                      "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}


def with_testantrag(app):
    """``app`` with the test definition ``tests/data/testantrag.toml`` in its catalog (a file
    field of 0.03 MB, 0.1 MB for the whole filing)."""
    from pathlib import Path

    from bizportal.catalog.loader import load_definition_file

    definition = load_definition_file(Path(__file__).parent.parent / "data" / "testantrag.toml")
    portal = app.extensions["bizportal"]
    portal.snapshot = dataclasses.replace(portal.snapshot, services={**portal.catalog, "testantrag": definition})
    return app


#: the yes/no declarations of part 1 "Angaben zur Person" of the Hamburg § 34c, § 34a and GastG forms;
#: each "yes" brings a step of its own (named like the question) for the particulars
PERMIT_DECLARATIONS = ("strafverfahren", "bussgeldverfahren", "untersagungsverfahren", "vermoegensauskunft",
                       "insolvenz")


def angaben_zur_person(*, geschlecht: str = "weiblich", staatsangehoerigkeit: str = "DE", geburtsname: str = "",
                       wohnorte: tuple[tuple[str, str, str], ...] = (),
                       taetigkeiten: tuple[tuple[str, str, str], ...] = (),
                       particulars: dict[str, str] | None = None,
                       extra_declarations: dict[str, str] | None = None) -> dict[str, dict]:
    """The steps of part 1 "Angaben zur Person" of the three permits (§ 34c, § 34a, Gaststätte) that
    follow the step "personen", in the order the portal shows them: step key → answers.
    ``wohnorte`` are (town, country code, period), ``taetigkeiten`` (business, role, period);
    ``particulars`` answers "yes" to the declarations it names, with their particulars, and "no" to
    the others. ``extra_declarations`` are further yes/no answers of the declarations step (e.g. the
    earlier GastG permit), whose steps the caller adds."""
    particulars = particulars or {}
    steps: dict[str, dict] = {
        "person_angaben": {"geburtsname": geburtsname, "geschlecht": geschlecht,
                           "staatsangehoerigkeit": staatsangehoerigkeit, "geburtsland": "DE"},  # § 34a
        "wohnorte": {f"fruehere_wohnorte-{i}-{sub}": value for i, entry in enumerate(wohnorte)
                     for sub, value in zip(("ort", "staat", "zeitraum"), entry, strict=True)},
        "leitende_taetigkeiten": {f"leitende_taetigkeiten-{i}-{sub}": value for i, entry in enumerate(taetigkeiten)
                                  for sub, value in zip(("unternehmen", "funktion", "zeitraum"), entry, strict=True)},
        "erklaerungen": {**{d: "yes" if d in particulars else "no" for d in PERMIT_DECLARATIONS},
                         "einwilligung_bewacherregister": "yes",  # § 34a only; the others ignore it
                         **(extra_declarations or {})},
    }
    for name in PERMIT_DECLARATIONS:
        if name in particulars:
            steps[name] = {f"{name}_angaben": particulars[name]}
    return steps
