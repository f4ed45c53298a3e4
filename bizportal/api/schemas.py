"""The JSON of the chamber API as pydantic models: the endpoints validate requests and write
responses with these, and ``openapi`` builds the published document from the same classes.

Request bodies refuse unknown members (``extra="forbid"``): a client cannot set what the API
does not offer (a company, a status other than by a transition).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from ..bodies.models import CHAMBER_KINDS
from ..filings.states import CHAMBER_EVENTS, FilingStatus

Status = Literal["submitted", "forwarded", "received", "in_progress", "information_requested", "answered",
                 "accepted", "rejected", "withdrawn"]
ChamberEvent = Literal["received", "in_progress", "information_requested", "accepted", "rejected"]
BodyKind = Literal["HWK", "IHK", "GEWERBEAMT"]
# spelled out for the type checker; the status machine is the source
assert set(get_args(Status)) == {s.value for s in FilingStatus}
assert set(get_args(ChamberEvent)) == {s.value for s in CHAMBER_EVENTS}
assert set(get_args(BodyKind)) == set(CHAMBER_KINDS)

#: a feed position: the decimal number of the last filing a client has seen
CURSOR_PATTERN = r"^[0-9]{1,18}$"
#: filing references (``BP-2026-7KQ3MZ``) are letters, digits and hyphens
REFERENCE_PATTERN = r"^[A-Za-z0-9-]{1,32}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -----------------------------------------------------------------------------------

class FeedQuery(_Request):
    """Query of ``GET /filings``."""

    after: str | None = Field(None, pattern=CURSOR_PATTERN, description=(
        "The `cursor` of the last filing you processed (or `next_cursor` of the previous page). Without it "
        "the feed starts at the first filing ever delivered to your chamber."))
    limit: int = Field(50, ge=1, le=100, description="How many filings at most (1–100).")


class FileUpload(_Request):
    """A file sent inline, base64-encoded (RFC 4648 §4, with padding)."""

    filename: str = Field(min_length=1, max_length=255, description="File name with extension, e.g. `Bescheid.pdf`.")
    content_base64: str = Field(min_length=1, max_length=28_000_000, description="The file's bytes in base64.")


class AcknowledgeRequest(_Request):
    """Body of ``POST …/acknowledge`` (may be empty or omitted)."""


class TransitionRequest(_Request):
    """One step of the filing's status machine, as the portal's staff take it."""

    to: ChamberEvent = Field(description=(
        "The new status. `received` confirms receipt, `in_progress`, `information_requested` (needs `reason` and "
        "`due_on`), `accepted`, `rejected` (needs `reason`). A copy recipient may only send `received`."))
    expected_status: Status = Field(description=(
        "The status you saw. If the filing has moved since, nothing is changed and the answer is 409."))
    reason: str | None = Field(None, max_length=2000, description=(
        "Text for the company: the question of a request, the reason of a rejection, a note on an acceptance."))
    due_on: date | None = Field(None, description="For `information_requested`: the day by which the company "
                                                  "should answer (in the future, at most a year ahead).")
    documents: list[FileUpload] = Field(default_factory=list, max_length=5, description=(
        "For `accepted` or `rejected`: decision documents (PDF only, 10 MB each, 20 MB together)."))


class MessageRequest(_Request):
    """A message to the company that does not change the status."""

    body: str = Field(min_length=1, max_length=5000, description="The text of the message.")
    files: list[FileUpload] = Field(default_factory=list, max_length=5, description=(
        "Documents for the company: PDF, PNG or JPEG, 10 MB each, 20 MB together."))


# --- responses ----------------------------------------------------------------------------------

class Service(_Response):
    key: str = Field(description="The catalog key of the service, e.g. `gewerbeanmeldung`.")
    title: str
    leika: str | None = Field(None, description="LeiKa service key, where one is known.")


class BundleFiling(_Response):
    """Another filing of the same bundle: which service, under which reference, for which kind of
    body. Nothing else of it (answers, company data, status) is given to your chamber."""

    reference: str = Field(description=(
        "Its reference. Readable through this API only if it was delivered to your chamber too."))
    service: Service
    body_kind: BodyKind | None = Field(description=(
        "The kind of body that decides it (`HWK`, `IHK`, `GEWERBEAMT`); null if the portal recorded none."))


class Bundle(_Response):
    """The life-event bundle ("Betrieb gründen", …) a company submitted the filing with: one
    questionnaire, one filing per competent body, all submitted together."""

    reference: str = Field(description="The bundle's reference, the same for each of its filings.")
    kind: str = Field(description="The bundle's catalog key, e.g. `betrieb-gruenden`.")
    title: str = Field(description="The bundle's title in German, e.g. `Betrieb gründen`.")
    filings: list[BundleFiling] = Field(description="The bundle's other filings (not this one), in the order "
                                                    "they were submitted.")


BUNDLE_DESCRIPTION = ("The life-event bundle the company submitted this filing with, as at submit; null for a "
                      "filing submitted on its own.")


class FeedEntry(_Response):
    """A filing as it appears in your chamber's feed."""

    reference: str = Field(description="The filing's reference, e.g. `BP-2026-7KQ3MZ`.")
    cursor: str = Field(description="The filing's position in your feed: pass it as `after` to continue behind it.")
    service: Service
    destination_role: Literal["primary", "copy"] = Field(description=(
        "`primary`: your chamber decides; `copy`: your chamber gets a copy and only confirms receipt."))
    status: Status | None = Field(description="The filing's current status.")
    company_name: str | None
    submitted_at: datetime
    received_at: datetime = Field(description="When the filing reached your chamber.")
    bundle: Bundle | None = Field(description=BUNDLE_DESCRIPTION)
    href: str = Field(description="The filing's URL in this API.")


class FeedPage(_Response):
    filings: list[FeedEntry]
    next_cursor: str | None = Field(description=(
        "Pass as `after` for the next call. It stays the same when nothing new arrived; null only when the feed "
        "is empty and you gave no `after`."))
    has_more: bool = Field(description="More filings are waiting behind this page: call again at once.")


class Label(_Response):
    de: str
    en: str


class Answer(_Response):
    field: str
    label: Label
    type: str | None = Field(description="The form field's type (text, date, choice, yesno, address, group, file …).")
    value: Any = Field(description="The answer as entered (file fields: the file names).")
    text: str = Field(description="The answer as German text.")
    entries: list[list[Answer]] | None = Field(None, description=(
        "A repeated group (type `group`) only: per entry, the fields asked for that entry (answered, "
        "and whose condition holds for it), each as an answer; null for other fields."))


class FileLink(_Response):
    id: str = Field(description="The file's id.")
    filename: str
    media_type: str
    size: int
    sha256: str
    field: str | None = Field(None, description="The form field a filing attachment belongs to.")
    href: str = Field(description="Download URL (needs the bearer token, scope `filings:read`).")


class TimelineEntry(_Response):
    kind: str
    occurred_at: datetime
    chamber: str | None = Field(description="The body that reported it (null: the portal itself).")
    detail: str | None


class Message(_Response):
    """One message of the conversation between the company and your chamber."""

    id: int
    kind: Literal["request", "message", "decision", "answer"] = Field(description=(
        "`request`, `message` and `decision` come from your chamber; `answer` from the company."))
    sender: Literal["chamber", "company"] = Field(description="Who wrote it.")
    author: str | None = Field(description="The person (a staff member or the company's person), if known.")
    body: str
    created_at: datetime
    due_on: date | None = Field(None, description="A request: by when the company should answer.")
    answered_at: datetime | None = Field(None, description="A request: when the company answered it.")
    reply_to: int | None = Field(None, description="An answer: the id of the request it answers.")
    files: list[FileLink]


class MessageList(_Response):
    messages: list[Message]


class Filing(_Response):
    """A filing delivered to your chamber, with everything your chamber may see of it."""

    reference: str
    cursor: str
    service: Service
    destination_role: Literal["primary", "copy"]
    status: Status | None
    allowed_transitions: list[ChamberEvent] = Field(description="The values of `to` your chamber may send now.")
    submitted_at: datetime
    received_at: datetime
    company: dict[str, Any] = Field(description="The company's data as delivered (name, legal form, address …).")
    bundle: Bundle | None = Field(description=BUNDLE_DESCRIPTION)
    answers: list[Answer] = Field(description="The form's answers, in the order of the form.")
    attachments: list[FileLink]
    timeline: list[TimelineEntry] = Field(description="The portal's entries and your chamber's, oldest first.")
    messages: list[Message]


class TransitionResult(_Response):
    reference: str
    status: Status = Field(description="The filing's status now.")
    recorded: bool = Field(description="False when an acknowledgement was already recorded (nothing changed).")


class TokenResponse(_Response):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the token is valid.")
    scope: str = Field(description="The scopes granted, space-separated.")


class TokenRequest(BaseModel):
    """RFC 6749 §4.4.2, form-encoded. Authenticate with HTTP Basic (`client_id:client_secret`) or with
    `client_id` and `client_secret` in the body."""

    model_config = ConfigDict(extra="allow")

    grant_type: Literal["client_credentials"]
    scope: str | None = Field(None, description="Space-separated scopes; without it, all of the client's.")
    client_id: str | None = None
    client_secret: str | None = None


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ValidationIssue] | None = Field(None, description="What was wrong with the request body (422).")
    current_status: Status | None = Field(None, description="A refused transition (409): the filing's status now.")
