"""Reads of hours against the weekly cap; assignment asks these for capacity."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from workforce.models import Contractor


def week_start_utc(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the pay week holding `moment` (an aware datetime)."""
    moment = moment.astimezone(UTC)
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def hours_logged(*, contractor: Contractor, week_start: datetime) -> Decimal:
    """Hours the contractor logged in the pay week starting at `week_start`.

    Time entries arrive with the payroll issue; until then no contractor has logged any.
    """
    return Decimal(0)
