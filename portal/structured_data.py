"""schema.org JobPosting for a listing's page, as JSON-LD: what job boards and search engines read from it."""
import json

from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from portal.selectors.listings import Listing

# json.dumps leaves these as they are; inside <script> they could end it early (as django's json_script escapes).
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def job_posting(*, listing: Listing, url: str, description: str) -> dict:
    """The posting of one open job: its hourly rate in USD, remote and open to every country, applied for here."""
    job, terms = listing.job, listing.terms
    return {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": listing.title,
        "description": " ".join(strip_tags(description).split()),
        "datePosted": job.created_at.date().isoformat(),
        "employmentType": ["CONTRACTOR", "PART_TIME"],
        "hiringOrganization": {"@type": "Organization", "name": "LabelCrew"},
        "jobLocationType": "TELECOMMUTE",
        "applicantLocationRequirements": {"@type": "Place", "name": "Worldwide"},
        "experienceRequirements": "no requirements",
        "directApply": True,
        "url": url,
        "baseSalary": {"@type": "MonetaryAmount", "currency": terms.currency,
                       "value": {"@type": "QuantitativeValue", "value": str(terms.hourly_rate), "unitText": "HOUR"}},
        "workHours": f"up to {terms.weekly_cap_hours.normalize():f} hours a week",
    }


def json_ld(data: dict) -> SafeString:
    """The data as the body of a <script type="application/ld+json">, safe to put in a page."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES))  # noqa: S308 - escaped above
