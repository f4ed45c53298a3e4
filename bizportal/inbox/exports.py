"""One filing as the chamber's records office files it: a JSON document and a PDF of the same content.

Only what the chamber holding the inbox item may see goes in: its own item (answers, company data,
attachments as delivered to it), the timeline entries of the portal and of this chamber (never
another body's), and this chamber's delivery.

The JSON document (``schema_version`` 1; new keys may be added within a version, none is renamed
or removed without raising it; times are ISO 8601 in UTC with ``Z``, e.g. ``2026-12-04T10:37:47Z``)::

    {
      "schema": "bizportal.inbox-export",
      "schema_version": 1,
      "exported_at": "…Z",
      "reference": "BP-2026-ABC234",
      "service": {"key": "gewerbeanmeldung", "title": "Gewerbeanmeldung", "leika": "99050012104000"},
      "chamber": {"slug": "hwk-bremen", "name": "Handwerkskammer Bremen"},
      "destination_role": "primary" | "copy",
      "status": "received",                      # the filing's current status (null if unknown)
      "submitted_at": "…Z", "received_at": "…Z",  # in the portal; in this chamber's inbox
      "company": {"name": …, "legal_form": …, "street": …, "postcode": …, "city": …, "tax_number": …},
      "filed_by": {"name": …, "email": …, "trust_level": "substantial" | … | null} | null,
                                                 # the person of the company account who filed, as
                                                 # recorded at submit (null without the portal's filing)
      "receivers": [{"role": "primary" | "copy", "slug": …, "name": …}],
                                                 # every body that received the same filing, primary
                                                 # first (this chamber among them)
      "answers": [                               # in the order of the service's form
        {"field": "start_date", "label": {"de": "Beginn der Tätigkeit", "en": "Start of the activity"},
         "type": "date", "value": "2027-01-01", "text": "01.01.2027"},
        …                                        # file fields: value = list of file names
        {"field": "personen", …, "type": "group", "value": [{…}, …], "text": "1. …",
         "entries": [[{"field": "familienname", "label": …, "type": "text", "value": …, "text": …}, …], …]}
                                                 # a repeated group: per entry only the fields asked
                                                 # for it (a condition that does not hold for the
                                                 # entry, e.g. the residence title of an EU citizen,
                                                 # leaves the field out of value, text and entries)
      ],
      "attachments": [{"field": …, "filename": …, "media_type": …, "size": 1234, "sha256": "…"}],
      "timeline": [{"kind": "submitted" | "forwarded" | "received" | …, "occurred_at": "…Z",
                    "chamber": "Handwerkskammer Bremen" | null, "detail": … | null}],
      "deliveries": [{"delivery_id": "uuid", "role": …, "state": "pending" | "delivered" | …,
                      "attempts": 1, "queued_at": "…Z", "delivered_at": "…Z" | null,
                      "received_at": "…Z"}],
      "messages": [{"kind": "request" | "message" | "decision" | "answer", "created_at": "…Z",
                    "from": "chamber" | "company", "author": … | null, "body": …,
                    "due_on": "2027-01-31" | null, "answered_at": "…Z" | null,
                    "files": [{"filename": …, "media_type": …, "size": 1234, "sha256": "…"}]}]
    }

``messages`` is the conversation between the company and this chamber only (internal notes are
not part of the export). ``filed_by`` and ``receivers`` are part of the filing every receiver
processes (the delivered payload carries them too): who filed it, and which bodies it went to — not
what the other bodies did with it.

Answers whose field the catalog no longer defines keep their field name as label and are listed
last. The PDF shows the same sections with German labels and German local time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select

from chambers.email.render import company_rows, human_size, local_time

from ..bodies.models import Chamber
from ..catalog.models import FieldDefinition, ServiceDefinition, compound_values, shown_entry_fields
from ..common import countries
from ..common.time import utcnow
from ..delivery import jobs
from ..delivery.models import Delivery
from ..extensions import db
from ..filings import xgewerbeanzeige
from ..filings.models import Filing, FilingEvent
from . import queries
from .models import InboxItem

SCHEMA = "bizportal.inbox-export"
SCHEMA_VERSION = 1

TIMELINE_LABELS = {
    "submitted": "Eingereicht im Portal", "forwarded": "Zugestellt an", "received": "Eingang bestätigt durch",
    "in_progress": "In Bearbeitung bei", "information_requested": "Nachfrage von",
    "answered": "Antwort gesendet an", "accepted": "Bewilligt durch",
    "rejected": "Abgelehnt durch", "withdrawn": "Vom Unternehmen zurückgezogen",
}
#: a positive decision as the company's pages name it, by the service's kind
ACCEPTED_BY_KIND = {"trade": ("Bestätigt", "Anzeige bestätigt durch"),
                    "registration": ("Eingetragen", "Eingetragen durch")}
STATUS_LABELS = {
    "submitted": "Eingereicht", "forwarded": "Weitergeleitet", "received": "Eingegangen",
    "in_progress": "In Bearbeitung", "information_requested": "Nachfrage", "answered": "Antwort eingegangen",
    "accepted": "Bewilligt",
    "rejected": "Abgelehnt", "withdrawn": "Zurückgezogen",
}
DELIVERY_LABELS = {
    "pending": "wartet auf Versand", "sending": "wird gesendet", "delivered": "zugestellt",
    "accepted": "zugestellt, bewilligt", "rejected": "zugestellt, abgelehnt", "dead": "gescheitert",
    "cancelled": "nicht gesendet (zurückgezogen)",
}


@dataclass(frozen=True)
class Export:
    """The built document and what the download needs."""

    document: dict[str, Any]
    filing_id: int | None
    basename: str


def status_label(status: str | None, service_kind: str | None) -> str:
    """The status in words; a positive decision named for the service's kind, as on the company's page."""
    if status == "accepted" and service_kind in ACCEPTED_BY_KIND:
        return ACCEPTED_BY_KIND[service_kind][0]
    return STATUS_LABELS.get(status or "", status or "–")


def event_label(kind: str, service_kind: str | None) -> str:
    if kind == "accepted" and service_kind in ACCEPTED_BY_KIND:
        return ACCEPTED_BY_KIND[service_kind][1]
    return TIMELINE_LABELS.get(kind, kind)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def safe_basename(reference: str) -> str:
    """A file name stem from a reference: letters, digits and hyphens only."""
    return "Vorgang-" + (re.sub(r"[^A-Za-z0-9-]+", "_", reference).strip("_") or "unbekannt")


def build(item: InboxItem, service: ServiceDefinition | None) -> Export:
    """The export of one inbox item. The caller has checked that the item is the staff member's
    chamber's; everything read here is scoped to that chamber. Raises nothing for odd data."""
    filing = db.session.scalar(select(Filing).join(Delivery, Delivery.filing_id == Filing.id)
                               .where(Delivery.id == item.delivery_id))
    chamber = db.session.get(Chamber, item.chamber_id)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "exported_at": iso(utcnow()),
        "reference": item.reference,
        "service": {"key": item.service_key, "title": item.service_title,
                    "leika": service.leika if service else None, "kind": service.kind if service else None},
        "chamber": {"slug": chamber.slug, "name": chamber.name} if chamber else None,
        "destination_role": item.destination_role,
        "status": filing.status if filing else None,
        "submitted_at": iso(item.submitted_at),
        "received_at": iso(item.received_at),
        "company": dict(item.company or {}),
        "filed_by": queries.filed_by(filing),
        "receivers": queries.receivers(filing),
        "answers": answers(item, service),
        "attachments": [{"field": a.get("field"), "filename": a.get("filename"), "media_type": a.get("media_type"),
                         "size": a.get("size"), "sha256": a.get("sha256")} for a in item.attachments or []],
        "timeline": _timeline(filing.id, item.chamber_id) if filing else [],
        "deliveries": _deliveries(item),
        "messages": _messages(filing.id, item.chamber_id) if filing else [],
        "bundle": item.bundle,
    }
    return Export(document, filing.id if filing else None, safe_basename(item.reference))


def _timeline(filing_id: int, chamber_id: int) -> list[dict[str, Any]]:
    """The filing's entries of the portal itself and of this chamber, oldest first."""
    rows = db.session.execute(
        select(FilingEvent.kind, FilingEvent.occurred_at, Chamber.name, FilingEvent.detail)
        .outerjoin(Chamber, Chamber.id == FilingEvent.chamber_id)
        .where(FilingEvent.filing_id == filing_id,
               or_(FilingEvent.chamber_id.is_(None), FilingEvent.chamber_id == chamber_id))
        .order_by(FilingEvent.occurred_at, FilingEvent.id))
    return [{"kind": kind, "occurred_at": iso(at), "chamber": name, "detail": detail}
            for kind, at, name, detail in rows]


def _messages(filing_id: int, chamber_id: int) -> list[dict[str, Any]]:
    """The conversation between the company and this chamber, oldest first."""
    from .queries import conversation

    return [{"kind": m.kind, "created_at": iso(m.created_at), "from": "company" if m.from_company else "chamber",
             "author": (m.person.name if m.person else None) if m.from_company
             else (m.staff.display_name if m.staff else None),
             "body": m.body, "due_on": m.due_on.isoformat() if m.due_on else None, "answered_at": iso(m.answered_at),
             "files": [{"filename": a.original_name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256}
                       for a in m.attachments]}
            for m in conversation(filing_id, chamber_id)]


def _deliveries(item: InboxItem) -> list[dict[str, Any]]:
    """This chamber's delivery of the filing (one per filing and chamber)."""
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == item.delivery_id,
                                                        Delivery.chamber_id == item.chamber_id))
    if delivery is None:
        return []
    return [{"delivery_id": str(delivery.id), "role": delivery.role, "state": delivery.state,
             "attempts": delivery.attempts, "queued_at": iso(delivery.created_at),
             "delivered_at": iso(delivery.delivered_at), "received_at": iso(item.received_at)}]


# --- XGewerbeanzeige --------------------------------------------------------------------------------


def has_xgewerbeanzeige(item: InboxItem) -> bool:
    """Whether the item is a trade notification, whose XGewerbeanzeige message can be downloaded."""
    return item.service_key in xgewerbeanzeige.KINDS


def xgewerbeanzeige_message(item: InboxItem) -> bytes | None:
    """The XGewerbeanzeige 2.2 message of the item's delivery, byte for byte the one a webhook,
    e-mail or FIT-Connect delivery to this chamber carries (``delivery.jobs.xgewerbeanzeige_message``
    with the delivered answers, the same ids, author and reader); None for another service. The
    caller has checked that the item is the staff member's or API client's chamber's."""
    if not has_xgewerbeanzeige(item):
        return None
    body = (Chamber.slug, Chamber.name, Chamber.authority_prefix, Chamber.authority_id)
    reader = db.session.execute(select(*body).where(Chamber.id == item.chamber_id)).one()
    primary = db.session.execute(
        select(*body)
        .join(Delivery, Delivery.chamber_id == Chamber.id)
        .where(Delivery.filing_id == select(Delivery.filing_id).where(Delivery.id == item.delivery_id)
               .scalar_subquery(),
               Delivery.role == "primary", Delivery.message_id.is_(None))).first()
    return jobs.xgewerbeanzeige_message(item.service_key, item.data or {}, item.submitted_at, item.reference,
                                        item.delivery_id, tuple(reader),  # type: ignore[arg-type]
                                        tuple(primary) if primary is not None else None)  # type: ignore[arg-type]


def xgewerbeanzeige_filename(item: InboxItem) -> str:
    return f"{safe_basename(item.reference)}-XGewerbeanzeige.xml"


# --- answers ----------------------------------------------------------------------------------------


def answers(item: InboxItem, service: ServiceDefinition | None) -> list[dict[str, Any]]:
    """Every answer with its field's labels, the raw value and a German text; file fields name the files."""
    data = item.data or {}
    files: dict[str, list[str]] = {}
    for a in item.attachments or []:
        files.setdefault(str(a.get("field")), []).append(str(a.get("filename")))
    out: list[dict[str, Any]] = []
    known = set()
    for fd in service.fields if service else ():
        known.add(fd.name)
        if fd.type == "file":
            if fd.name in files:
                out.append(_answer(fd.name, fd.label.de, fd.label.en, fd.type, files[fd.name],
                                   ", ".join(files[fd.name])))
        elif fd.type == "group" and isinstance(data.get(fd.name), list):
            out.append(_group_answer(fd, data[fd.name]))
        elif fd.name in data:
            value = data[fd.name]
            out.append(_answer(fd.name, fd.label.de, fd.label.en, fd.type, value, answer_text(fd, value)))
    for name, value in data.items():
        if name not in known:
            out.append(_answer(name, name, name, None, value, _plain(value)))
    return out


def _group_answer(fd: FieldDefinition, value: list[Any]) -> dict[str, Any]:
    """A repeated group's answer with its entries field by field, each entry holding only the fields
    asked for it (``shown_entry_fields``, as the staff page shows them)."""
    entries = [[_answer(sub.name, sub.label.de, sub.label.en, sub.type, sub_value, answer_text(sub, sub_value))
                for sub, sub_value in shown_entry_fields(fd.fields, entry)] for entry in value]
    shown = [{a["field"]: a["value"] for a in fields} if isinstance(entry, Mapping) else entry
             for entry, fields in zip(value, entries, strict=True)]
    return {**_answer(fd.name, fd.label.de, fd.label.en, fd.type, shown, answer_text(fd, value)), "entries": entries}


def _answer(name: str, de: str, en: str, type_: str | None, value: Any, text: str) -> dict[str, Any]:
    return {"field": name, "label": {"de": de, "en": en}, "type": type_, "value": value, "text": text}


def answer_text(fd: FieldDefinition, value: Any) -> str:
    """An answer as the records office reads it (German): Ja/Nein, the choice's label, 01.01.2027."""
    if value is None or value == "" or value == []:
        return "–"
    if fd.type == "yesno":
        return "Ja" if value else "Nein"
    if fd.type == "choice":
        return next((c.label.de for c in fd.choices if c.value == value), str(value))
    if fd.type == "date":
        return _day(value)
    if fd.type == "country":
        return countries.name(str(value), "de")
    if fd.type in ("address", "person") and isinstance(value, Mapping):
        parts = compound_values(dict(value), "de")
        if value.get("birth_date"):
            parts.append(f"geboren am {_day(value['birth_date'])}")
        return ", ".join(parts) or "–"
    if fd.type == "group" and isinstance(value, list):
        entries = []
        for i, entry in enumerate(value, start=1):
            if isinstance(entry, Mapping):
                subs = [f"{sub.label.de}: {answer_text(sub, sub_value)}"
                        for sub, sub_value in shown_entry_fields(fd.fields, entry)]
                entries.append(f"{i}. " + "; ".join(subs))
            else:
                entries.append(f"{i}. {_plain(entry)}")
        return "\n".join(entries)
    return _plain(value)


def _day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "Ja" if value else "Nein"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


# --- PDF --------------------------------------------------------------------------------------------


def filer_text(filed_by: Mapping[str, Any] | None) -> str:
    """"Anna Becker <anna@example.de>", or "–" when nothing is known."""
    if not filed_by:
        return "–"
    name, email = filed_by.get("name"), filed_by.get("email")
    return " ".join(filter(None, [name, f"<{email}>" if email else None])) or "–"


def receivers_text(receivers: list[Mapping[str, Any]], own_slug: str | None) -> str:
    """The receiving bodies, one a line: "Gewerbeamt Bremen (Stadtamt) – zuständige Stelle",
    "Handwerkskammer Bremen – Kopie (diese Stelle)"."""
    lines = [f"{r.get('name')} – {'zuständige Stelle' if r.get('role') == 'primary' else 'Kopie'}"
             + (" (diese Stelle)" if own_slug and r.get("slug") == own_slug else "") for r in receivers]
    return "\n".join(lines) or "–"


def _local(value: str | None) -> str:
    return local_time(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else "–"


def answer_rows(answers: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The answers as (label, text) rows; a repeated group as a row with its label, then per entry a
    row "Eintrag 1" and one row per field asked for it (as the receipt prints them)."""
    rows: list[tuple[str, str]] = []
    for a in answers:
        if "entries" not in a:
            rows.append((a["label"]["de"], a["text"]))
            continue
        count = len(a["entries"])
        rows.append((a["label"]["de"], "1 Eintrag" if count == 1 else f"{count} Einträge"))
        for index, entry in enumerate(a["entries"], 1):
            rows.append((f"Eintrag {index}", ""))
            rows += [(f["label"]["de"], f["text"]) for f in entry]
    return rows


def render_pdf(export: Export) -> bytes:
    """The document as PDF (German labels, German local time), in the e-mail adapter's font and layout."""
    doc = export.document
    chamber = (doc["chamber"] or {}).get("name") or "–"
    # fpdf2 (with fontTools and Pillow, about 33 MB) at the first PDF, not in every web worker
    from chambers.email.pdf import FilingPDF, section, setup_font, table

    pdf = FilingPDF(format="A4")
    family, txt = setup_font(pdf)
    pdf.set_title(txt(f"{doc['service']['title']} – {doc['reference']}"))
    pdf.set_subject(txt(doc["reference"]))
    pdf.set_creator("bizportal")
    pdf.footer_text = txt(f"Vorgang {doc['reference']} · {chamber} · exportiert {_local(doc['exported_at'])}")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 8, txt(doc["service"]["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 10)
    head = [("Vorgangsnummer", doc["reference"]), ("Leistung", doc["service"]["title"])]
    if doc["service"]["leika"]:
        head.append(("Leistungsschlüssel (LeiKa)", doc["service"]["leika"]))
    head += [
        ("Stelle", chamber),
        ("Rolle", "Kopie zur Kenntnis" if doc["destination_role"] == "copy" else "zuständige Stelle"),
        ("Stand", status_label(doc["status"], doc["service"].get("kind"))),
        ("Eingereicht am", _local(doc["submitted_at"])),
        ("Eingegangen am", _local(doc["received_at"])),
        ("Eingereicht von", filer_text(doc.get("filed_by"))),
        ("Empfänger", receivers_text(doc.get("receivers") or [], (doc["chamber"] or {}).get("slug"))),
    ]
    table(pdf, family, head, txt)
    section(pdf, family, "Unternehmen", company_rows(doc["company"]) or [("—", "keine Angaben")], txt)
    section(pdf, family, "Angaben", answer_rows(doc["answers"]) or [("—", "keine Angaben")], txt)
    files = [(a["filename"] or "–", f"{a['media_type']}, {human_size(int(a['size'] or 0))}\nSHA-256: {a['sha256']}")
             for a in doc["attachments"]]
    section(pdf, family, "Anlagen", files or [("—", "keine Anlagen")], txt)
    timeline = [(_local(e["occurred_at"]),
                 " ".join(filter(None, [event_label(e["kind"], doc["service"].get("kind")), e["chamber"]]))
                 + (f"\n{e['detail']}" if e["detail"] else "")) for e in doc["timeline"]]
    section(pdf, family, "Verlauf", timeline or [("—", "keine Einträge")], txt)
    deliveries = []
    for d in doc["deliveries"]:
        deliveries += [("Zustellungs-ID", d["delivery_id"]), ("Zustand", DELIVERY_LABELS.get(d["state"], d["state"])),
                       ("Versuche", str(d["attempts"])), ("Zum Versand bereit seit", _local(d["queued_at"])),
                       ("Zugestellt am", _local(d["delivered_at"])), ("Im Posteingang seit", _local(d["received_at"]))]
    section(pdf, family, "Zustellung an diese Stelle", deliveries or [("—", "keine Zustellung")], txt)
    kinds = {"request": "Nachforderung", "message": "Nachricht", "decision": "Entscheidung", "answer": "Antwort"}
    messages = [(_local(m["created_at"]),
                 " – ".join(filter(None, [kinds.get(m["kind"], m["kind"]),
                                          "Unternehmen" if m["from"] == "company" else "Stelle", m["author"]]))
                 + (f"\nAntwort erbeten bis {_day(m['due_on'])}" if m["due_on"] else "")
                 + (f"\n{m['body']}" if m["body"] else "")
                 + "".join(f"\nDatei: {f['filename']} ({human_size(int(f['size']))})" for f in m["files"]))
                for m in doc.get("messages", [])]
    section(pdf, family, "Nachrichten", messages or [("—", "keine Nachrichten")], txt)
    return bytes(pdf.output())
