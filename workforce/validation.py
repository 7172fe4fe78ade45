"""Field rules for contractor data, shared by the pages' forms and the API's serializers."""
import functools
import re
import zoneinfo
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError, localedata
from django.conf import settings
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries

from common.errors import DomainError
from common.validators import validate_printable

MIN_AGE_YEARS = 18
NAME_MAX_LENGTH = 200
# Not a language a contractor speaks day to day: ancient, liturgical or constructed only.
NOT_SPOKEN = frozenset({"ae", "cu", "pi", "cop", "gez", "prg", "jbo", "tok", "vo"})


def _spoken_languages() -> dict[str, str]:
    """Every living language of Babel's CLDR data: those with an ISO 639-1 code and those with a CLDR locale
    (Filipino, Cebuano, Nigerian Pidgin...), code -> English name (the autonym where CLDR has no English name)."""
    english = Locale("en").languages
    codes = {c for c in english if re.fullmatch("[a-z]{2}", c)}
    codes |= {identifier.split("_")[0] for identifier in localedata.locale_identifiers()} - {"root"}
    # Django's table too, so that no language saved before stops being valid.
    codes |= {code for code in LANG_INFO if len(code) == 2} | {"zh"}
    return {c: english.get(c) or Locale.parse(c).get_display_name(c) or c for c in sorted(codes - NOT_SPOKEN)}


LANGUAGE_NAMES = _spoken_languages()
LANGUAGE_CODES = frozenset(LANGUAGE_NAMES)


def language_label(code: str, *, page_language: str) -> str:
    """A language in its own name and in the page's: "Kiswahili · Suajili" on a Spanish page; once when they agree."""
    own = Locale.parse(code).get_display_name(code) if code in _LOCALES else None
    try:
        here = Locale.parse(page_language, sep="-").languages.get(code)
    except (ValueError, UnknownLocaleError):
        here = None
    here = here or LANGUAGE_NAMES[code]
    return f"{own} · {here}" if own and own.casefold() != here.casefold() else here


_LOCALES = frozenset(localedata.locale_identifiers())


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA time zone `name`; None when it is empty or not one."""
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def contractor_zone(contractor: Any) -> zoneinfo.ZoneInfo:
    """The contractor's own clock, for showing times (pages and emails): their profile's zone, UTC until it names
    one."""
    return zone_named(contractor.timezone) or zoneinfo.ZoneInfo("UTC")


def available_timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _zone_table() -> str:
    """tzdata's zone1970.tab (the pinned Python package, else the system's copy)."""
    try:
        return resources.files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return Path("/usr/share/zoneinfo/zone1970.tab").read_text(encoding="utf-8")


@functools.cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """ISO 3166 country code -> the IANA zones used there, from the time zone database's own table."""
    zones: dict[str, list[str]] = {}
    for line in _zone_table().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        countries_, _coordinates, zone, *_ = line.split("\t")
        for country in countries_.split(","):
            zones.setdefault(country, []).append(zone)
    return {country: tuple(sorted(found)) for country, found in zones.items()}


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
        raise DomainError(f"{field}: " + _("must be text."), field=field)
    value = value.strip()
    if required and not value:
        raise DomainError(f"{field}: " + _("this field is required."), field=field)
    if len(value) > max_length:
        raise DomainError(f"{field}: " + _("at most %(max)s characters (got %(got)s).") % {
            "max": max_length, "got": len(value)}, field=field)
    checked(field, validate_printable, value)
    return value
