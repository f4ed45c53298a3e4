"""Deleting personal data the way retention will: every filing with everything that hangs on it."""

from __future__ import annotations

from sqlalchemy import delete, update

from bizportal.extensions import db
from bizportal.filings.models import Attachment, Filing, FilingEvent, FilingMessage, FilingReceipt
from bizportal.inbox.models import InboxItem


def delete_all_filings() -> None:
    """Remove every filing, its deliveries, timeline, messages, files, receipt and inbox items; commits."""
    from bizportal.delivery.models import Delivery
    from bizportal.inbox.models import CaseNote
    from bizportal.notify.models import Notification

    db.session.execute(delete(CaseNote))
    db.session.execute(delete(InboxItem))
    db.session.execute(delete(Notification))
    db.session.execute(delete(Delivery))
    db.session.execute(delete(Attachment).where(Attachment.message_id.is_not(None)))
    db.session.execute(update(FilingMessage).values(reply_to_id=None))
    db.session.execute(delete(FilingMessage))
    db.session.execute(delete(Attachment))
    db.session.execute(delete(FilingEvent))
    db.session.execute(delete(FilingReceipt))
    db.session.execute(delete(Filing))
    db.session.commit()
