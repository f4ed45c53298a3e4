from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


def local_today(timezone: str) -> date:
    """Today's calendar date in the portal's time zone (due dates are German calendar days)."""
    return datetime.now(ZoneInfo(timezone)).date()
