"""Forms of the staff payroll console: the week picker, review decisions, adjustments, pay runs, pay terms."""
from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from annotations.models import Job
from common.errors import DomainError
from common.forms import AccessibleForm
from common.validators import validate_printable
from payroll.models import TimesheetState
from payroll.selectors import WEEK, PayTerms, week_parse, week_start_utc


class IsoWeekField(forms.CharField):
    """An ISO week written like 2026-W48, cleaned to its Monday 00:00 UTC."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "ISO week, e.g. 2026-W48.")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return week_parse(text)
        except DomainError as exc:
            raise forms.ValidationError(exc.message.split(": ", 1)[-1]) from None


class IdsField(forms.Field):
    """Ids chosen with checkboxes of the same name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else []
        if not all(str(v).isdigit() for v in values):
            raise forms.ValidationError("Choose from the list.")
        return sorted({int(v) for v in values})


class WeekFilterForm(forms.Form):
    week = IsoWeekField(required=False)
    state = forms.ChoiceField(choices=[("", "Any state"), *TimesheetState.choices], required=False)
    flagged = forms.BooleanField(required=False, label="Flagged only")


class ServiceForm(AccessibleForm):
    """Shows a service's refusal next to the field it names (or above the form)."""

    # Service argument names that the form asks for under another name.
    SERVICE_FIELDS: dict[str, str] = {}

    def add_domain_error(self, exc: DomainError) -> None:
        field = self.SERVICE_FIELDS.get(exc.field or "", exc.field)
        if field in self.fields:
            self.add_error(field, exc.message.removeprefix(f"{exc.field}: "))
        else:
            self.add_error(None, exc.message)


class DecisionForm(ServiceForm):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=1000, required=False, validators=[validate_printable],
                             help_text="Required to reject; the contractor reads it.")


class BulkApproveForm(forms.Form):
    week = IsoWeekField()
    timesheets = IdsField()


class PayRunForm(AccessibleForm):
    week = IsoWeekField(widget=forms.HiddenInput)
    minimum_payout = forms.DecimalField(min_value=0, max_digits=8, decimal_places=2,
                                        initial=settings.PAYROLL_MINIMUM_PAYOUT, label="Minimum payout (USD)",
                                        help_text="Smaller amounts are carried to the contractor's next pay run.")


class AdjustmentForm(ServiceForm):
    job = forms.ModelChoiceField(queryset=Job.objects.order_by("name"), help_text="Its rate prices the minutes.")
    minutes = forms.IntegerField(help_text="Signed: 30 adds half an hour, -30 takes it back.")
    reason = forms.CharField(max_length=500, validators=[validate_printable], widget=forms.TextInput,
                             help_text="The contractor and the audit trail read it.")
    corrects_week = IsoWeekField(required=False, label="Corrects week",
                                 help_text="The locked week this corrects, e.g. 2026-W47; its rate applies.")


class PayTermsForm(ServiceForm):
    effective_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="From (date, UTC)",
                                     help_text="Not in the past; pay already earned keeps its rate.")
    effective_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), initial=time(),
                                     label="From (time, UTC)")
    hourly_rate = forms.DecimalField(max_digits=8, decimal_places=2, label="Hourly rate (USD)")
    weekly_cap_hours = forms.DecimalField(max_digits=5, decimal_places=2, label="Weekly cap (hours)")
    reason = forms.CharField(max_length=500, validators=[validate_printable], widget=forms.TextInput)

    SERVICE_FIELDS = {"effective_from": "effective_date"}

    @classmethod
    def following(cls, terms: PayTerms) -> "PayTermsForm":
        """An empty form offering the latest terms from next Monday, the start of a pay week."""
        next_monday = week_start_utc(timezone.now()) + WEEK
        return cls(initial={"effective_date": next_monday.date(), "hourly_rate": terms.hourly_rate,
                            "weekly_cap_hours": terms.weekly_cap_hours})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("effective_date") and data.get("effective_time") is not None:
            data["effective_from"] = datetime.combine(data["effective_date"], data["effective_time"], tzinfo=UTC)
        return data
