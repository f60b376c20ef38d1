"""Moments as people type them: an ISO-8601 date or date-time, UTC unless a zone is given."""

from datetime import UTC, date, datetime, timedelta

from application.errors import ValidationFailed


def parse_moment(name: str, text: str, as_end: bool = False) -> datetime:
    """A date is its day's first instant, or as an (exclusive) end, the next day's first.

    `name` is the parameter's name, for the error.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if as_end else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ValidationFailed(
            f"{name}: not an ISO-8601 date or date-time",
            f"{name}: expected e.g. 2025-10-18 or 2025-10-18T10:30:00Z, got {text[:40]!r}",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # As an exclusive end, a moment given to the millisecond must still include itself.
    return parsed + timedelta(milliseconds=1) if as_end else parsed
