"""Plain words for profile fields, so a contractor never reads a field name such as legal_name."""
from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

FIELD_WORDS = {
    "legal_name": _("legal name"),
    "display_name": _("display name"),
    "country": _("country"),
    "timezone": _("time zone"),
    "languages": _("languages you read"),
    "hours_available_per_week": _("hours per week"),
    "payout_method": _("payout method"),
    "payout_email": _("payout email"),
    "date_of_birth": _("date of birth"),
    "tax_declaration": _("tax self-certification"),
}


@register.filter
def field_words(names: list[str]) -> list[str]:
    """Each field name as the words the profile page uses for it, in the page's language."""
    return [str(FIELD_WORDS.get(name, name.replace("_", " "))) for name in names]
