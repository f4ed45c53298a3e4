"""Imports every model module so that the metadata is complete (for Alembic and tests)."""

from .api.models import ApiClient, ApiRateWindow, ApiToken  # noqa: F401
from .audit.models import AuditChainHead, AuditEvent  # noqa: F401
from .auth.models import Company, LoginSession, Person, StaffUser  # noqa: F401
from .bodies.models import Chamber  # noqa: F401
from .catalog.records import CatalogVersion, ImportedDefinition  # noqa: F401
from .delivery.models import Delivery, DeliveryTiming  # noqa: F401
from .filings.models import Attachment, Draft, Filing, FilingEvent  # noqa: F401
from .inbox.models import InboxFeed, InboxItem, InboxVisit  # noqa: F401
from .notify.models import Notification  # noqa: F401
from .retention.models import RetentionRun  # noqa: F401
from .stats.models import AbandonedDraft, ActiveMember, StatCounter, StatHistogram, StatRollup  # noqa: F401
