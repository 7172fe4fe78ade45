"""Field rules for contractor data, shared by the pages' forms and the API's serializers."""
import zoneinfo
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries

from common.errors import DomainError
from common.validators import validate_printable

MIN_AGE_YEARS = 18
NAME_MAX_LENGTH = 200
# ISO 639-1 names from Django's locale table; it files Chinese only under zh-hans/zh-hant.
LANGUAGE_NAMES = {code: info["name"] for code, info in LANG_INFO.items() if len(code) == 2 and "name" in info}
LANGUAGE_NAMES["zh"] = "Chinese"
LANGUAGE_CODES = frozenset(LANGUAGE_NAMES)


def available_timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def validate_country(value: str) -> None:
    if value not in dict(countries):
        raise ValidationError(_("%(value)r is not an ISO 3166 country code.") % {"value": value}, code="country")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)r is not a time zone such as Europe/Berlin.") % {"value": value},
                              code="timezone")


def validate_languages(value: list) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one language."), code="languages")
    unknown = [code for code in value if code not in LANGUAGE_CODES]
    if unknown:
        raise ValidationError(_("Unknown language code(s): %(codes)s.") % {"codes": ", ".join(map(str, unknown))},
                              code="languages")


def validate_hours_available(value: int) -> None:
    cap = settings.DEFAULT_WEEKLY_CAP_HOURS
    if not 1 <= value <= cap:
        raise ValidationError(_("Must be between 1 and %(cap)s hours per week.") % {"cap": cap}, code="hours")


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def validate_adult(born: date) -> None:
    today = date.today()
    if born > today:
        raise ValidationError(_("The date of birth is in the future."), code="dob")
    if age_on(born, today) < MIN_AGE_YEARS:
        raise ValidationError(_("You must be at least %(years)s years old.") % {"years": MIN_AGE_YEARS}, code="dob")


def checked(field: str, validator: Callable[[Any], None], value: Any) -> None:
    """Run a field rule for a service: its ValidationError becomes a DomainError naming the field."""
    try:
        validator(value)
    except ValidationError as exc:
        raise DomainError(f"{field}: {exc.messages[0]}", field=field) from None


def checked_text(field: str, value: Any, *, max_length: int, required: bool = True) -> str:
    """Typed text for a service: trimmed, required unless told, at most max_length, printable."""
    if not isinstance(value, str):
        raise DomainError(f"{field}: must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise DomainError(f"{field}: this field is required.", field=field)
    if len(value) > max_length:
        raise DomainError(f"{field}: at most {max_length} characters (got {len(value)}).", field=field)
    checked(field, validate_printable, value)
    return value
