"""Companies, the persons acting for them, and staff users."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.legal_forms import owner_kind
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model

if TYPE_CHECKING:
    from ..bodies.models import Chamber

ROLES = ("chamber_staff", "steering", "admin")


class Company(Model):
    """A company as known to the company-login provider (issuer + organisation identifier)."""

    __tablename__ = "company"
    __table_args__ = (UniqueConstraint("issuer", "org_id", name="uq_company_issuer_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    legal_form: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    tax_number: Mapped[str | None] = mapped_column(String(20))
    #: fingerprint of the provider's master data when a person last confirmed it
    reviewed_fingerprint: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: contact details the company added itself (the provider does not deliver them)
    phone: Mapped[str | None] = mapped_column(String(40))
    notification_email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    PROVIDER_FIELDS = ("name", "legal_form", "street", "postcode", "city", "tax_number")

    def provider_fingerprint(self) -> str:
        """Changes whenever the provider's master data change (then a person reviews them again)."""
        import hashlib
        import json

        data = {k: getattr(self, k) for k in self.PROVIDER_FIELDS}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def needs_review(self) -> bool:
        return self.reviewed_fingerprint != self.provider_fingerprint()

    @property
    def owner_kind(self) -> str | None:
        """Who runs the business as its legal form tells (``legal_forms.owner_kind``): the answer to
        "Wer betreibt das Gewerbe?" the legal form determines, else None."""
        return owner_kind(self.legal_form)

    def master_data(self) -> dict[str, Any]:
        """The company data that filings are prefilled with and that receivers get (``owner_kind``:
        computed from the legal form, so a form's "Wer betreibt das Gewerbe?" starts answered)."""
        return {
            "name": self.name,
            "legal_form": self.legal_form,
            "owner_kind": self.owner_kind,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
            "tax_number": self.tax_number,
        }


class Person(UserMixin, Model):
    """A person logged in for a company (issuer + ``sub``); never identified by e-mail."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("issuer", "sub", name="uq_person_issuer_sub"),)

    kind = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    #: the language the person last chose in the portal (``common.i18n.LOCALES``); None: never chose
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company] = relationship(lazy="joined")

    def get_id(self) -> str:
        return f"company:{self.id}"

    @property
    def display_name(self) -> str:
        return f"{self.name or self.sub} ({self.company.name})"

    def has_role(self, role: str) -> bool:
        return False

    def account_data(self) -> dict[str, Any]:
        """What the account knows of the person (the login's ``name`` and ``email`` claims), for
        the ``person.*`` prefill paths; the name also split into given names and family name
        (``split_name``), for a form that asks them apart."""
        given_names, family_name = split_name(self.name)
        return {"name": self.name, "email": self.email, "given_names": given_names, "family_name": family_name}


#: words that begin a family name ("Anna von der Heide": family name "von der Heide")
NAME_PARTICLES = {"von", "vom", "van", "de", "der", "den", "zu", "zum", "zur", "da", "di", "del", "della", "du",
                  "la", "le", "ten", "ter", "bin", "al", "el"}


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """(given names, family name) of a full name as the login gives it, e.g. "Anna Maria Becker"
    → ("Anna Maria", "Becker"), "Anna von der Heide" → ("Anna", "von der Heide"); (None, None)
    for a single word or none (nothing to tell apart). A prefill the person checks and corrects."""
    words = (name or "").split()
    if len(words) < 2:
        return None, None
    start = len(words) - 1
    while start > 1 and words[start - 1].casefold() in NAME_PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


class StaffUser(UserMixin, Model):
    """Chamber staff, steering group members and admins, from the staff-login provider."""

    __tablename__ = "staff_user"
    __table_args__ = (UniqueConstraint("issuer", "sub", name="uq_staff_user_issuer_sub"),)

    kind = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chamber.id"), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chamber: Mapped[Chamber | None] = relationship(lazy="joined")

    def get_id(self) -> str:
        return f"staff:{self.id}"

    @property
    def display_name(self) -> str:
        return self.name or self.sub

    def has_role(self, role: str) -> bool:
        if role == "chamber_staff" and self.chamber_id is None:
            return False
        return role in (self.roles or [])


class LoginSession(Model):
    """A portal session on the server side: logout, timeouts and back-channel logout end it here,
    so a copied cookie stops working too."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(40), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    #: the provider's session id (``sid`` claim), for back-channel logout
    provider_sid: Mapped[str | None] = mapped_column(String(255), index=True)
    #: eIDAS level of this login (none, low, substantial, high), from the ``acr`` claim
    trust_level: Mapped[str] = mapped_column(String(20), default="none")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    #: the provider's access and refresh token, sealed (``auth.tokens``), for the periodic re-check
    tokens: Mapped[str | None] = mapped_column(Text)
    #: when the provider last confirmed the login's role or company (``auth.recheck``); None: at login
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the portal last asked the provider (answered or not)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
