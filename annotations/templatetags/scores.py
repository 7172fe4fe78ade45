"""The one way the console writes a quality score (IoU, agreement, qualification score): two decimals, or a dash."""
from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()

SCORE = Decimal("0.01")


@register.filter
def score(value: Decimal | float | str | None) -> str:
    """0.9600 and 1.0 both read as two decimals ("0.96", "1.00"); no score reads as "—"."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return "—"
    return str(number.quantize(SCORE, rounding=ROUND_HALF_UP)) if number.is_finite() else "—"
