"""Drafts, filings, their attachments and the events that make up a filing's timeline."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model
from .states import FilingStatus

if TYPE_CHECKING:
    from ..auth.models import Company, Person, StaffUser
    from ..bodies.models import Chamber
    from ..delivery.models import Delivery

__all__ = [
    "Attachment", "Draft", "Filing", "FilingBundle", "FilingEvent", "FilingMessage", "FilingReceipt", "FilingStatus",
    "MessageKind",
]


class Draft(Model):
    """A filing being prepared. Belongs to the company, so colleagues can continue it.

    ``revision`` counts the saves of the draft: SQLAlchemy raises it by one with every UPDATE of
    the row and writes that UPDATE only ``WHERE revision`` is still the one read (its version
    counter, a compare-and-set; ``StaleDataError`` otherwise). The step and review pages carry the
    revision they showed, so a page opened before a colleague's save is recognised
    (``services.StepChanged``, ``services.DraftChanged``)."""

    __tablename__ = "draft"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    service_key: Mapped[str] = mapped_column(String(100))
    #: answers of the completed steps, keyed by field name (JSON-able values)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: keys of the steps whose answers were validated and saved
    completed_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: raw input of a step that did not validate yet, so nothing typed is lost
    pending_input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: when the company was told that the untouched draft will be deleted (``retention``); a
    #: reminder older than ``updated_at`` is void (the draft was worked on since)
    retention_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a service's draft inside a bundle: the bundle's draft (whose ``service_key`` is the bundle's
    #: key); no foreign key, so a bundle draft deleted on its own leaves ordinary drafts behind
    bundle_draft_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    #: a bundle's draft: the service keys the company chose to leave out
    left_out: Mapped[list[str] | None] = mapped_column(JSON)
    #: a bundle's service draft: the steps completed before that a changed answer of the bundle
    #: opened again (``bundles.prepare_services``); a step leaves it when it is saved again
    reopened_steps: Mapped[list[str] | None] = mapped_column(JSON)
    #: the number of saves of the draft (1 when created); see the class's docstring
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": revision}

    created_by: Mapped[Person] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[Person] = relationship(foreign_keys=[updated_by_id])
    attachments: Mapped[list[Attachment]] = relationship(back_populates="draft")


class Filing(Model):
    """A submitted filing. Belongs to the company; records the acting person."""

    __tablename__ = "filing"
    __table_args__ = (
        # "Meine Anträge": one page of a company's filings, newest first (keyset)
        Index("ix_filing_company_submitted", "company_id", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    #: id of the draft (or one-time form token) that produced this filing; makes submit idempotent
    submit_token: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    service_key: Mapped[str] = mapped_column(String(100), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    company_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: indexed for lists filtered by status (the inbox joins it; a rare status is found from here)
    status: Mapped[str] = mapped_column(String(32), default=FilingStatus.SUBMITTED, index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: who filed, as at submit: name, email, sub and issuer of the login, and its trust level
    #: (``auth.trust.LEVELS``); None for filings made before this was recorded
    filed_by: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the receiving bodies as at submit, primary first: [{"role", "slug", "name"}]; None for
    #: filings made before this was recorded (their deliveries still name the bodies)
    receivers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: the bundle ("Betrieb gründen", …) this filing was submitted with, if any
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("filing_bundle.id"), index=True)
    #: what its receivers learn of that bundle, as at submit: {"reference", "kind" (the bundle's
    #: key), "title", "filings": the bundle's other filings [{"service_key", "service_title",
    #: "reference", "body_kind"}]} (``filings.bundles.bundle_context``); None outside a bundle
    bundle_context: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    company: Mapped[Company] = relationship()
    person: Mapped[Person] = relationship()
    bundle: Mapped[FilingBundle | None] = relationship(back_populates="filings")
    receipt: Mapped[FilingReceipt | None] = relationship(back_populates="filing", lazy="select")
    #: the deliveries of the filing itself (not those of the company's messages about it)
    deliveries: Mapped[list[Delivery]] = relationship(
        primaryjoin="and_(Filing.id == Delivery.filing_id, Delivery.message_id.is_(None))",
        order_by="Delivery.created_at", viewonly=True,
    )
    #: the files of the filing itself (a conversation's files hang on their message, not here)
    attachments: Mapped[list[Attachment]] = relationship(back_populates="filing", order_by="Attachment.created_at")
    events: Mapped[list[FilingEvent]] = relationship(
        back_populates="filing", order_by="FilingEvent.occurred_at, FilingEvent.id"
    )
    messages: Mapped[list[FilingMessage]] = relationship(
        back_populates="filing", order_by="FilingMessage.created_at, FilingMessage.id"
    )


class FilingBundle(Model):
    """The filings submitted together with one binding submit of a life-event bundle (one per
    service), with the bundle's receipt listing every filing (PDF, made once at submit)."""

    __tablename__ = "filing_bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    #: the id of the bundle's draft; makes the submit idempotent
    submit_token: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    bundle_key: Mapped[str] = mapped_column(String(100), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locale: Mapped[str] = mapped_column(String(8))
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    receipt_sha256: Mapped[str] = mapped_column(String(64))
    #: the services the bundle's answers called for that the company left out (not filed)
    left_out: Mapped[list[str] | None] = mapped_column(JSON)

    filings: Mapped[list[Filing]] = relationship(back_populates="bundle", order_by="Filing.id")


class FilingReceipt(Model):
    """The acknowledgement of receipt (PDF) of a filing, made once at submit and never changed.

    ``sha256`` is the digest of ``content`` (shown on the status page, so a printed or mailed copy
    can be checked against it); ``data_sha256`` the digest of the filing's canonical data
    (``filings.receipts.canonical_bytes``), printed on the receipt itself.
    """

    __tablename__ = "filing_receipt"

    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    data_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    filing: Mapped[Filing] = relationship(back_populates="receipt")


class Attachment(Model):
    """An uploaded file: first on a draft, then on the filing. Stored under a server-chosen key."""

    __tablename__ = "attachment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    draft_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("draft.id"), index=True)
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("filing.id"), index=True)
    #: set (and ``filing_id`` not) for a file of the conversation: an answer's or a decision's document
    message_id: Mapped[int | None] = mapped_column(ForeignKey("filing_message.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(50))
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    draft: Mapped[Draft | None] = relationship(back_populates="attachments")
    filing: Mapped[Filing | None] = relationship(back_populates="attachments")
    message: Mapped[FilingMessage | None] = relationship(back_populates="attachments")


class FilingEvent(Model):
    """One entry of a filing's timeline: submitted, forwarded, received, … decided, withdrawn."""

    __tablename__ = "filing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chamber.id"))
    detail: Mapped[str | None] = mapped_column(Text)

    filing: Mapped[Filing] = relationship(back_populates="events")
    chamber: Mapped[Chamber | None] = relationship()


class MessageKind:
    """What a conversation message is. The chamber writes requests, messages and decisions; the
    company writes answers (to a request, or on its own)."""

    REQUEST = "request"
    MESSAGE = "message"
    DECISION = "decision"
    ANSWER = "answer"

    CHAMBER = (REQUEST, MESSAGE, DECISION)


class FilingMessage(Model):
    """One message of the conversation between the company and one receiving body about a filing.

    Written only through ``filings.lifecycle`` (with the status change or timeline entry it goes
    with). A chamber's staff see the messages of their own chamber; the company sees all of its
    filing's messages; internal notes are not messages (``inbox.models.CaseNote``).
    """

    __tablename__ = "filing_message"
    __table_args__ = (
        # reminders: open requests by due date
        Index("ix_filing_message_due", "kind", "answered_at", "due_on"),
        # a form posted twice (double click, browser re-post) stores one message
        UniqueConstraint("filing_id", "form_token", name="uq_filing_message_form_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), index=True)
    #: the chamber of the conversation (sender or addressee)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    #: the company's person who wrote an answer
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    #: the chamber's staff member who wrote a request, message or decision
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: a request: the date by which the company should answer
    due_on: Mapped[date | None] = mapped_column(Date)
    #: a request: when the company answered it; an answer: the request it answers
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("filing_message.id"))
    #: a request: when the reminder mail was queued (at most one per request)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a company's message to a body with its own system: when the body's adapter took it (the
    #: delivery's database time); for an inbox body, when it was written
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the one-time token of the form that sent it (a UUID made when the form was shown); None
    #: for messages written without a form (a body's status channel)
    form_token: Mapped[str | None] = mapped_column(String(36))

    filing: Mapped[Filing] = relationship(back_populates="messages")
    chamber: Mapped[Chamber] = relationship()
    person: Mapped[Person | None] = relationship()
    staff: Mapped[StaffUser | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.created_at")

    @property
    def from_company(self) -> bool:
        return self.kind == MessageKind.ANSWER

    @property
    def open_request(self) -> bool:
        return self.kind == MessageKind.REQUEST and self.answered_at is None
