"""Emails to a contractor, written as templates (a subject and a body) and rendered in the contractor's language."""
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from workforce.models import Contractor
from workforce.validation import contractor_zone


def contractor_language(contractor: Contractor) -> str:
    """The language the contractor chose (or signed up in), else the site's default (English)."""
    return contractor.ui_language if contractor.ui_language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE



def email_contractor(*, contractor: Contractor, template: str, context: dict, to: list[str] | None = None) -> None:
    """Send `<template>_subject.txt` and `<template>_body.txt` to the contractor (or to `to`), in their language
    and zone."""
    context = {"contractor": contractor, "site_url": settings.SITE_URL, **context}
    with translation.override(contractor_language(contractor)), timezone.override(contractor_zone(contractor)):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}_body.txt", context)
    send_mail(subject, body, None, to or [contractor.user.email])
