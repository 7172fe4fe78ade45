"""Minutes as hours to show, and pay as minutes x hourly rate, rounded half-up to cents only where it leaves."""
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def minutes_as_hours(minutes: int) -> Decimal:
    """Minutes as decimal hours with two places (for display and export only)."""
    return (Decimal(minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def seconds_as_hours(seconds: float) -> Decimal:
    return (Decimal(str(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def minutes_as_hmm(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def amount_of(minutes_times_rate: Decimal) -> Decimal:
    """What a statement pays for a sum of minutes x hourly rate: divided by 60 once, rounded half-up to cents."""
    return (minutes_times_rate / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def money_for(minutes: int, rate: Decimal) -> Decimal:
    """Unrounded pay for minutes at an hourly rate; round only where it leaves the system."""
    return Decimal(minutes) * rate / 60
