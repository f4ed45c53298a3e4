"""E-mails to the company about its filings; sent after the commit, never blocking it."""

from __future__ import annotations

import logging

from flask import current_app, has_request_context, url_for

from ..catalog.models import ServiceDefinition
from ..common import mail
from .models import Filing
from .receipts import render_receipt

log = logging.getLogger(__name__)


def _link(endpoint: str, **values) -> str:
    """An absolute link for a mail, also from the worker (no web request): PUBLIC_BASE_URL."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def filing_received(filing: Filing, service: ServiceDefinition | None) -> bool:
    """Send the acknowledgement with the receipt PDF to the acting person's address.

    A failure is logged, not raised: the filing is stored, and the receipt stays downloadable
    from its status page. Returns whether the mail went out.
    """
    to = filing.company.notification_email or filing.person.email
    if not to:
        log.info("no e-mail address for filing %s; receipt only on its page", filing.reference)
        return False
    title = service.title.de if service else filing.service_key
    body = (
        f"Guten Tag,\n\nIhr Antrag „{title}“ ist im Unternehmensportal eingegangen.\n\n"
        f"Aktenzeichen: {filing.reference}\n"
        f"Stand und Verlauf: {_link('filings.detail', reference=filing.reference)}\n\n"
        "Die Eingangsbestätigung finden Sie im Anhang.\n\nIhr Unternehmensportal\n"
    )
    try:
        msg = mail.build_message(to, f"Eingangsbestätigung {filing.reference}: {title}", body, [
            (f"Eingangsbestaetigung-{filing.reference}.pdf", "application/pdf", render_receipt(filing, service)),
        ])
        mail.send(msg)
    except Exception:
        log.exception("acknowledgement mail for %s could not be sent", filing.reference)
        return False
    return True


def status_changed(filing: Filing, kind: str, detail: str | None, chamber_name: str) -> bool:
    """Tell the company that a chamber asked for information or decided; other steps show on the page."""
    to = filing.company.notification_email or filing.person.email
    if kind not in ("information_requested", "accepted", "rejected") or not to:
        return False
    what = {"information_requested": "bittet um weitere Angaben", "accepted": "hat Ihren Antrag bewilligt",
            "rejected": "hat Ihren Antrag abgelehnt"}[kind]
    body = (
        f"Guten Tag,\n\n{chamber_name} {what} (Aktenzeichen {filing.reference}).\n\n"
        + (f"Nachricht: {detail}\n\n" if detail else "")
        + f"Stand und Verlauf: {_link('filings.detail', reference=filing.reference)}\n\n"
        "Ihr Unternehmensportal\n"
    )
    try:
        mail.send(mail.build_message(to, f"Neuer Stand zu {filing.reference}", body))
    except Exception:
        log.exception("status mail for %s could not be sent", filing.reference)
        return False
    return True
