"""Life-event bundles over HTTP: the founding electrician's answers and the steps a browser would
take through a bundle's questionnaire, overview and submit (tests/test_bundles.py and the browser test)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

from tests.support.filing import GESCHAEFTSFUEHRERIN, TEST_PDF, gewerbe_answers, path_of
from tests.support.handwerk import BECKER_LEITET, MEISTERPRUEFUNG
from tests.support.http import csrf_token, submit_form

#: the shared answers, different from the account's data so that their way into each filing shows
#: (the persons question: the managing director, as the service forms ask her)
SHARED = {"business_name": "Becker Elektro Neugründung GmbH", "legal_form": "GmbH", "inhaber_art": "juristische_person",
          "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345",
          "street": "Hafenstraße 7", "postcode": "28217", "city": "Bremen", **GESCHAEFTSFUEHRERIN}
PLANS = {"start_date": "2027-03-01", "handwerk": "yes", "ausbilden": "yes", "vermittlung_34d": "no",
         # asked once for the Gewerbeanmeldung and the Verzeichnis (full and part time add up there)
         "taetigkeit": "Elektroinstallation und Montage von Photovoltaikanlagen", "vollzeit": "2", "teilzeit": "1",
         # a hired master leads the business and another person trains: the services ask for them
         "betriebsleitung": "andere_person", "ausbildung_durch": "andere_person",
         # the craft of Anlage A (the Handwerksrolle's "trade", asked once in the questionnaire)
         "gewerk": "elektrotechniker"}
#: what each service still needs beyond the shared answers
GEWERBE = {k: v for k, v in gewerbe_answers().items()
           if k not in {"business_name", "legal_form", "street", "postcode", "city", "start_date", "handwerk"}}
#: the Handwerkskammer Hamburg form's questions, as a new business without branches would answer them
HWK_FORM = {"gruendungsart": "neugruendung", "registereintrag": "yes", "existenzgruender": "yes", "filialen": "no",
            "fruehere_selbstaendigkeit": "no", "einwilligung_weitergabe": "no", "einwilligung_suchmaschine": "no",
            "einwilligung_handwerktest": "no",
            "keine_gewerbeuntersagung": "yes"}
HANDWERKSROLLE = {"trade": "elektrotechniker", **BECKER_LEITET, **MEISTERPRUEFUNG, **HWK_FORM}
AUSBILDUNG = {
    "ausbilder": "Jonas Weber", "auszubildende_person-family_name": "Lange",
    "auszubildende_person-given_names": "Sophie", "auszubildende_person-birth_date": "2004-12-03",
    "auszubildende_person-birth_place": "Delmenhorst", "auszubildende_anschrift-street": "Friedrich-Ebert-Straße 48",
    "auszubildende_anschrift-postcode": "28199", "auszubildende_anschrift-city": "Bremen",
    "schulabschluss": "fachhochschulreife", "ausbildungsberuf": "elektroniker",
    "vertragsschluss": "2026-11-20", "beginn": "2027-08-01", "ende": "2031-01-31", "probezeit_monate": "4",
    "verkuerzung": "no", "verguetung_erstes_jahr": "1020",
    # § 34 Abs. 2 and § 11 BBiG (docs/gewerbeanzeige.md): trainer, trainee, contract, pay per year
    "ausbilder_geschlecht": "maennlich", "ausbilder_eignung": "meisterpruefung",
    "ausbildende_email": "ausbildung@becker.example", "oeffentlicher_dienst": "no",
    "auszubildende_geschlecht": "weiblich", "berufsvorbereitung": "no", "vorherige_berufsausbildung": "keine",
    "vorheriges_studium": "keines", "anschlussvertrag": "no", "duales_studium": "no", "ausbildungsdauer": "ueber_36",
    "teilzeitausbildung": "no", "tarifvertrag": "yes", "foerderung": "keine", "verguetung_zweites_jahr": "1080",
    "verguetung_drittes_jahr": "1150", "verguetung_viertes_jahr": "1220", "ausbildungszeit_taeglich": "8",
    "ausbildungszeit_woche": "39", "urlaubstage": "30",
}
FILES = {"qualifikationsnachweis": "Meisterbrief.pdf", "ausbildungsvertrag": "Ausbildungsvertrag.pdf"}
CHILD_ANSWERS = {**GEWERBE, **HANDWERKSROLLE, **AUSBILDUNG}

#: "Betrieb verlegen oder aufgeben": Becker moves from Am Wall 120, Bremen (the account's address)
#: to Bremerhaven, another municipality with its own Gewerbeamt (the persons: its managing director)
NEW_PLACE = {"new_street": "Bürgermeister-Smidt-Straße 10", "new_postcode": "27568", "new_city": "Bremerhaven"}
MOVE = {"vorhaben": "verlegen_anderswo", **GESCHAEFTSFUEHRERIN, **NEW_PLACE, "move_date": "2027-04-01",
        "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345",
        # asked once for the Abmeldung and the new Anmeldung (or the Ummeldung)
        "inhaber_art": "juristische_person", "geschaeftsbezeichnung": "Becker Licht & Strom",
        "oeffentliche_hand": "nein", "reisegewerbe": "no", "niederlassung": "hauptniederlassung", "nebenerwerb": "no",
        "wz2008": "43.21.0",
        "handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no", "vollzeit": "3", "teilzeit": "1",
        "taetigkeit": "Elektroinstallation und Elektroeinzelhandel",
        # an electrician: entered in the Handwerksrolle (Anlage A); Bremerhaven is in HWK Bremen's district too
        # (a hired master leads it: the entry at another chamber asks for her)
        "handwerksrolle": "yes", "betriebsleitung": "andere_person"}
#: what the Abmeldung and the Anmeldung still need beyond the bundle's answers ("grund" is the
#: bundle's: not given here; field 23 is the bundle's in a move, asked by a founding bundle's
#: Gewerbeanmeldung)
MOVE_ANSWERS = {
    **{k: v for k, v in GEWERBE.items() if k != "grund"},
    "handwerk": "yes",
}


class _FormValues(HTMLParser):
    """The values a browser would send for the page's step form, as the page shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.values[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.values[name or ""] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea" and self._textarea is not None:
            # as a browser reads it: a line break right after <textarea> is not part of the value
            value = self.values[self._textarea]
            self.values[self._textarea] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

#: the founding electrician's questionnaire (a craft of Anlage A; trains an apprentice; the business
#: starts 2027-03-01), and the same as a takeover by lease
FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a"}
TAKEOVER = {**FOUNDING, "uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K."}
#: the move into another Handwerkskammer's district (Hamburg)
TO_HAMBURG = {**MOVE, "new_street": "Große Elbstraße 14", "new_postcode": "22767", "new_city": "Hamburg"}


def given_values(html: str) -> dict[str, str]:
    """The answers a service step shows as the bundle's (read-only, no input), by field name."""
    import html as html_lib

    return {name: html_lib.unescape(value) for name, value in re.findall(
        r'<div class="portal-given" id="([^"]+)">\s*<p class="kern-label"[^>]*>[^<]*</p>\s*'
        r'<p class="kern-body"[^>]*>([^<]*)</p>', html)}


def form_values(html: str) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(html)
    return parser.values


def errors_on(html: str) -> list[str]:
    """The field errors a refused step shows, as text (for an assertion's message)."""
    return [f"{field}: {' '.join(re.sub(r'<[^>]+>', ' ', message).split())}"
            for field, message in re.findall(r'<p class="kern-error" id="([^"]*)-error">(.*?)</p>', html, re.S)
            ] or [html[:3000]]


def fill(client, path: str, answers: dict, files: dict | None = None, stop_at: str | None = None) -> list[str]:
    """Post every step from ``path`` on, sending what the page shows plus ``answers`` for the fields
    it has (and the files it asks for), until the portal leaves the draft's steps (or shows the step
    ``stop_at``, which is left unposted); returns the keys of the steps shown."""
    shown = []
    for _ in range(40):
        if "/entwurf/" not in path or path.endswith("/pruefen") or path.rsplit("/", 1)[-1] == stop_at:
            return shown
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        values = form_values(html)
        data = {**values, **{k: v for k, v in answers.items() if f'name="{k}"' in html}, "action": "next"}
        for name, filename in (files or {}).items():
            if f'name="{name}"' in html:
                data[name] = (io.BytesIO(TEST_PDF), filename)
        resp = client.post(path, data=data, content_type="multipart/form-data")
        assert resp.status_code == 302, (path, errors_on(resp.get_data(as_text=True)))
        shown.append(path.rsplit("/", 1)[-1])
        path = path_of(resp.headers["Location"])
    raise AssertionError("too many steps")


def answer_questionnaire(client, key: str, steps: dict) -> str:
    """Start the bundle and answer its questions; returns the overview's path."""
    page = client.get(f"/vorhaben/{key}")
    assert page.status_code == 200
    resp = client.post(f"/vorhaben/{key}", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert resp.status_code == 302
    path = path_of(resp.headers["Location"])
    first = client.get(path).get_data(as_text=True)
    if 'name="business_name"' in first:
        assert 'value="Becker Elektrotechnik GmbH"' in first  # prefilled from the account
    fill(client, path, steps)
    draft_id = re.search(r"/entwurf/([0-9a-f-]+)/", path).group(1)
    resp = client.get(f"/antraege/entwurf/{draft_id}/pruefen")
    assert resp.status_code == 302
    return path_of(resp.headers["Location"])


def press(client, overview: str, **form) -> str:
    """Press a button of the bundle's overview (its ``form``); "Weglassen" of a service the law
    requires asks again, and is confirmed here with "Trotzdem weglassen" as a user would."""
    page = client.get(overview)
    resp = client.post(f"{overview}/antraege", data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    if "?weglassen=" in resp.headers["Location"]:
        confirm = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
        assert "Trotzdem weglassen" in confirm
        resp = client.post(f"{overview}/antraege", data={"csrf_token": csrf_token(confirm), **form, "confirmed": "yes"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client.get(overview).get_data(as_text=True)


def complete_services(client, overview: str) -> dict[str, list[str]]:
    """Open each service from the overview and complete it; the steps shown per draft link."""
    html = client.get(overview).get_data(as_text=True)
    shown = {}
    for link in completion_links(html):
        shown[link] = fill(client, link, CHILD_ANSWERS, FILES)
    return shown


def completion_links(overview_html: str) -> list[str]:
    """The overview's "Angaben ergänzen" links: each leads to the first open step of its draft."""
    return re.findall(r'href="(/antraege/entwurf/[0-9a-f-]+/[a-z0-9_-]+)"><span class="kern-label">Angaben ergänzen',
                      overview_html)


def submit(client, overview: str):
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200, review.headers.get("Location")
    return review, client.post(f"{overview}/pruefen", data=submit_form(review.get_data(as_text=True)))


def file_bundle(client, key: str, questions: dict, answers: dict | None = None,
                files: dict | None = None) -> str:
    """Answer the bundle's questions, complete every service and submit; the path of the combined
    status page."""
    overview = answer_questionnaire(client, key, questions)
    html = client.get(overview).get_data(as_text=True)
    for link in completion_links(html):
        fill(client, link, answers or CHILD_ANSWERS, files or FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return path_of(resp.headers["Location"])


def service_drafts(client, overview: str) -> dict[str, str]:
    """The id of each service's draft as the overview links it, by service key."""
    html = client.get(overview).get_data(as_text=True)
    drafts = {}
    for section in re.split(r'<li[^>]*id="teil-', html)[1:]:
        key = section.split('"', 1)[0]
        link = re.search(r'href="/antraege/entwurf/([0-9a-f-]+)/', section)
        if link:
            drafts[key] = link.group(1)
    return drafts


def complete_draft(client, draft_id: str, answers: dict, files: dict | None = None) -> list[str]:
    """Complete one service draft of a bundle from its first open step; the steps shown."""
    resp = client.get(f"/antraege/entwurf/{draft_id}/pruefen")
    assert resp.status_code == 302
    return fill(client, path_of(resp.headers["Location"]), answers, files)


def start_bundle(client, key: str) -> str:
    """Start the bundle; the path of its first question's step."""
    page = client.get(f"/vorhaben/{key}")
    resp = client.post(f"/vorhaben/{key}", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert resp.status_code == 302
    return path_of(resp.headers["Location"])


def post_shown_step(client, path: str, answers: dict, action: str = "next"):
    """Post one step as a browser would: what the page shows, with ``answers`` for its fields."""
    html = client.get(path).get_data(as_text=True)
    data = {**form_values(html), **{k: v for k, v in answers.items() if f'name="{k}"' in html}, "action": action}
    return client.post(path, data=data, content_type="multipart/form-data")


def received_by_body(app) -> dict[tuple[str, str], tuple[str, dict]]:
    """Deliver what is due; what each receiver got, by (service, role): the receiving body's slug and
    the data."""
    from sqlalchemy import select

    from bizportal.bodies.models import Chamber
    from bizportal.delivery.worker import Worker
    from bizportal.extensions import db
    from bizportal.inbox.models import InboxItem

    Worker(app).run_once()
    with app.app_context():
        return {(i.service_key, i.destination_role): (db.session.get(Chamber, i.chamber_id).slug, i.data)
                for i in db.session.scalars(select(InboxItem))}


def training_steps(client, overview: str, trainee: dict, files: dict) -> list[str]:
    """Complete each service of the bundle; the steps its training contract's draft showed."""
    drafts = service_drafts(client, overview)
    shown = {}
    for link in completion_links(client.get(overview).get_data(as_text=True)):
        shown[link.split("/")[3]] = fill(client, link, {**CHILD_ANSWERS, **trainee}, files)
    return shown[drafts["ausbildungsvertrag-eintragung"]]
