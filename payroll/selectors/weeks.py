"""The pay week: Monday 00:00 to Monday 00:00 UTC, named by its ISO week (2026-W48)."""
import re
from datetime import UTC, datetime, timedelta

from common.errors import DomainError

WEEK = timedelta(days=7)
ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_start_utc(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the pay week holding `moment` (an aware datetime)."""
    moment = moment.astimezone(UTC)
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def week_name(week_start: datetime) -> str:
    """The ISO week name of a pay week: 2026-W48."""
    year, week, _ = week_start.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_parse(name: str, *, field: str = "week") -> datetime:
    """Monday 00:00 UTC of an ISO week written like 2026-W48; a clear error otherwise."""
    match = ISO_WEEK.match((name or "").strip())
    if not match:
        raise DomainError(f"{field}: write the ISO week as YYYY-Www, e.g. 2026-W48 (got {name!r}).", field=field)
    try:
        day = datetime.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise DomainError(f"{field}: {name} is not a week of that year.", field=field) from None
    return day.replace(tzinfo=UTC)
