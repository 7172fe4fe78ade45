"""Forms of the contractor pages and the staff queue; rules come from workforce.validation."""
from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from common.forms import AccessibleForm
from common.validators import validate_printable
from common.widgets import LongSelect, LongSelectMultiple
from workforce import validation
from workforce.models import AgreementKind, OnboardingState, PayoutMethod
from workforce.services.decisions import STAFF_ACTIONS

TIMEZONE_CHOICES = [(name, name) for name in validation.available_timezones()]


def language_choices() -> list[tuple[str, str]]:
    """Every living language of CLDR, in its own name and the page's, in the page's alphabetical order."""
    page_language = translation.get_language() or settings.LANGUAGE_CODE
    labels = [(code, validation.language_label(code, page_language=page_language))
              for code in validation.LANGUAGE_CODES]
    return sorted(labels, key=lambda choice: choice[1].split(" · ")[-1].casefold())


def timezone_choices(country: str) -> list:
    """The country's zones first (when it has any), then every zone."""
    zones = validation.country_zones().get(country or "", ())
    if not zones:
        return [("", _("Choose…")), *TIMEZONE_CHOICES]
    return [("", _("Choose…")),
            (_("Time zones of %(country)s") % {"country": dict(countries).get(country, country)},
             [(zone, zone) for zone in zones]),
            (_("All time zones"), TIMEZONE_CHOICES)]


class ProfileForm(AccessibleForm):
    legal_name = forms.CharField(max_length=validation.NAME_MAX_LENGTH, validators=[validate_printable],
                                 label=_("Legal name"),
                                 help_text=_("As on your ID. It is used for tax forms and payouts. Any script."))
    display_name = forms.CharField(max_length=100, validators=[validate_printable], label=_("Display name"),
                                   help_text=_("The name reviewers and staff see."))
    country = forms.ChoiceField(choices=[("", _("Choose…")), *countries], label=_("Country where you live"),
                                widget=LongSelect)
    timezone = forms.ChoiceField(choices=[("", _("Choose…")), *TIMEZONE_CHOICES], label=_("Time zone"),
                                 help_text=_("The time zone of your clock. If it is empty, your browser suggests it."),
                                 widget=LongSelect(attrs={"data-suggest": "timezone"}))
    languages = forms.MultipleChoiceField(
        choices=language_choices, label=_("Languages"),
        help_text=_("Languages you read well. You can choose more than one."),
        widget=LongSelectMultiple(attrs={"size": 8, "data-filter": "languages"}))
    hours_available_per_week = forms.IntegerField(min_value=1, max_value=20, label=_("Hours available per week"),
                                                  help_text=_("Between 1 and 20 (the weekly limit)."))
    payout_method = forms.ChoiceField(choices=PayoutMethod.choices, label=_("Payout method"))
    payout_email = forms.EmailField(label=_("Payout email"), help_text=_("The email of your PayPal or Wise account."))
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=_("Date of birth"),
                                    validators=[validation.validate_adult],
                                    help_text=_("You must be 18 or older."))
    current_password = forms.CharField(
        required=False, strip=False, max_length=4096, label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Needed only to change your payout method or email. We then email the old and the new "
                    "address, and hold your next payout for 72 hours."))


    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.data.get("country") if self.is_bound else self.initial.get("country")
        self.fields["timezone"].choices = timezone_choices(str(country or ""))


class TaxDeclarationForm(AccessibleForm):
    is_us_person = forms.TypedChoiceField(
        label=_("Are you a US person for tax purposes?"), coerce=lambda v: v == "yes",
        choices=[("no", _("No: W-8BEN-style self-certification")), ("yes", _("Yes: W-9-style certification"))],
        widget=forms.RadioSelect,
    )
    tax_legal_name = forms.CharField(label=_("Legal name for tax purposes"), max_length=validation.NAME_MAX_LENGTH,
                                     validators=[validate_printable])
    country_of_residence = forms.ChoiceField(choices=[("", _("Choose…")), *countries],
                                             label=_("Country of tax residence"), widget=LongSelect)
    signature = forms.CharField(max_length=validation.NAME_MAX_LENGTH, validators=[validate_printable],
                                label=_("Signature"), help_text=_("Type your legal name again to sign."))
    certified = forms.BooleanField(label=_("I certify under penalty of perjury that the information above is true."))


class AgreementAcceptForm(AccessibleForm):
    agreements = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple,
                                                label=_("I have read and accept"))

    def __init__(self, *args: object, pending: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agreements"].choices = [
            (a.pk, _("%(title)s (version %(version)s)") % {"title": a.title, "version": a.version}) for a in pending]


class ApplicantFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *OnboardingState.choices], required=False)
    country = forms.ChoiceField(choices=[("", "Any country"), *countries], required=False, widget=LongSelect)
    min_hours = forms.IntegerField(min_value=1, max_value=20, required=False, label="Hours at least")
    max_hours = forms.IntegerField(min_value=1, max_value=20, required=False, label="Hours at most")
    min_score = forms.DecimalField(min_value=0, max_value=1, decimal_places=4, required=False, label="Score at least")
    search = forms.CharField(max_length=100, required=False)
    sort = forms.ChoiceField(required=False, label="Order", choices=[
        ("", "Newest change first"), ("oldest", "Oldest change first"), ("score", "Best qualification score"),
        ("hours", "Most hours offered"), ("name", "Name")])


class StaffDecisionForm(AccessibleForm):
    """A staff decision on a contractor. Nothing is preselected: approving by a stray click is too easy.

    With `unscored` of `photos` qualification photos still unscored, approving needs the confirm box. That is
    a confirmation of the reader of this page, not a rule of the domain (staff may approve without a round,
    and the API and bulk decisions do not ask), so it lives here and contractor_decide stays the one writer.
    """

    action = forms.ChoiceField(choices=[("", "Choose…"), *((a, a.capitalize()) for a in STAFF_ACTIONS)],
                               error_messages={"required": "Choose an action."})
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput,
                             validators=[validate_printable],
                             help_text="Required to reject or pause; the contractor reads it.")
    qualification_score = forms.DecimalField(min_value=0, max_value=1, decimal_places=4, required=False,
                                             help_text="0 to 1. Recorded by itself once the qualification round "
                                                       "is scored; fill it only to override that score.")

    def __init__(self, *args: object, unscored: int = 0, photos: int = 0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.unscored = unscored
        if unscored:
            self.fields["confirm_unscored"] = forms.BooleanField(
                required=False, label=f"Approve although {unscored} of {photos} qualification photos are not "
                                      "scored",
                help_text="The round's score is not final until every photo is scored.")

    def clean(self) -> dict:
        data = super().clean()
        if self.unscored and data.get("action") == "approve" and not data.get("confirm_unscored"):
            self.add_error("confirm_unscored", f"{self.unscored} qualification photo(s) are not scored yet: tick "
                                               "the box to approve anyway, or wait for the scores.")
        return data


class AgreementPublishForm(AccessibleForm):
    kind = forms.ChoiceField(choices=AgreementKind.choices)
    title = forms.CharField(max_length=200, validators=[validate_printable])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), max_length=100_000)


# The kinds of email a contractor may turn off, in plain words (pay and account emails always go out).
EMAIL_CHOICES = [
    ("batch_assigned", _("A batch is given to me")),
    ("rework", _("A reviewer sends a photo back to me")),
    ("cap", _("I get near or reach the weekly limit")),
    ("announcement", _("The team sends a message")),
]


class NotificationEmailsForm(AccessibleForm):
    emails_on = forms.MultipleChoiceField(choices=EMAIL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                          label=_("Send me an email when:"))


class AnnouncementForm(AccessibleForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=2000, validators=[validate_printable],
                           help_text="Shown on each contractor's dashboard and emailed as written (not translated).")
    states = forms.MultipleChoiceField(choices=OnboardingState.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None chosen: active only.")
    countries = forms.MultipleChoiceField(choices=countries, required=False, help_text="None chosen: every country.")
