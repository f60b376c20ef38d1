"""How the log spells a moment: ISO-8601 in UTC to the millisecond ("2025-10-18T10:30:00.000Z").

Every `Recorded.timestamp` is written this way, and the API and read models show moments in
the same spelling, so there is one writer and one reader of it.
"""

from datetime import datetime


def iso_millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stored(timestamp: str) -> datetime:
    """The moment `iso_millis` wrote (or any ISO-8601 date-time with a zone or a Z)."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
