"""Reads about a contractor's profile: which fields it has, what is still missing, the tax declaration in force."""
from workforce.models import Contractor, TaxDeclaration

PROFILE_FIELDS = (
    "legal_name", "display_name", "country", "timezone", "languages", "hours_available_per_week",
    "payout_method", "payout_email", "date_of_birth",
)


def profile_missing(contractor: Contractor) -> list[str]:
    """Profile fields still empty, plus 'tax_declaration' when none was made."""
    missing = [name for name in PROFILE_FIELDS if getattr(contractor, name) in (None, "", [])]
    if not contractor.tax_declarations.exists():
        missing.append("tax_declaration")
    return missing


def tax_declaration_latest(contractor: Contractor) -> TaxDeclaration | None:
    """The contractor's newest tax declaration (the one in force), or None when none was made."""
    return contractor.tax_declarations.first()
