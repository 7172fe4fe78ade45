"""The pay week: Monday 00:00 to Monday 00:00 UTC, named by its ISO week (2026-W48)."""
import re
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext

from common.errors import DomainError

WEEK = timedelta(days=7)
# ASCII digits only (\d would take full-width ones) and nothing after (\Z, not $, which allows a final newline).
ISO_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})\Z")
# Pay weeks outside these years are typing mistakes or probes; their dates overflow exports near year 9999.
YEARS = (2000, 2100)


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
    """Monday 00:00 UTC of an ISO week written exactly like 2026-W48 (ASCII digits, nothing around it) in the years
    2000 to 2100; DomainError (400) naming `field` otherwise."""
    match = ISO_WEEK.fullmatch(name) if isinstance(name, str) else None
    if not match:
        raise DomainError(f"{field}: " + gettext("write the ISO week as YYYY-Www, e.g. 2026-W48 (got %(got)s).") % {
            "got": repr(str(name)[:40])}, field=field)
    year, week = int(match[1]), int(match[2])
    if not YEARS[0] <= year <= YEARS[1]:
        raise DomainError(f"{field}: " + gettext("%(week)s is outside the years %(first)s to %(last)s.") % {
            "week": name, "first": YEARS[0], "last": YEARS[1]}, field=field)
    try:
        day = datetime.fromisocalendar(year, week, 1)
    except ValueError:
        raise DomainError(f"{field}: " + gettext(
            "%(week)s is not a week of that year (%(year)s has %(weeks)s weeks).") % {
                "week": name, "year": year, "weeks": datetime(year, 12, 28).isocalendar()[1]}, field=field) from None
    return day.replace(tzinfo=UTC)
