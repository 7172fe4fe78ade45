"""Forms of payroll's pages: the contractor's hours (typed on their own clock, leaving as UTC) and the staff console
(week picker, review decisions, adjustments, pay runs, pay terms)."""
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations.models import Batch, BatchKind, Job
from common.errors import DomainError
from common.forms import AccessibleForm
from common.validators import validate_printable
from payroll.models import TimesheetState
from payroll.selectors import review
from payroll.selectors.terms import PayTerms
from payroll.selectors.weeks import WEEK, week_parse, week_start_utc

CLOCK_FORMATS = ["%H:%M", "%H:%M:%S"]


class BatchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Batch) -> str:
        if obj.kind == BatchKind.QUALIFICATION:
            return _("%(job)s, qualification round") % {"job": obj.job.name}
        return _("%(job)s, batch %(number)s") % {"job": obj.job.name, "number": obj.number}


def local_to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on the contractor's calendar as UTC; a time the clocks skipped or showed twice
    (a daylight-saving change) is refused, since it cannot be told which moment was worked."""
    naive = datetime.combine(day, clock)
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier.astimezone(UTC)
    shown = {"time": f"{clock:%H:%M}", "day": f"{day:%Y-%m-%d}", "zone": zone.key}
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise forms.ValidationError(_("%(time)s on %(day)s does not exist in %(zone)s: the clocks jumped forward "
                                      "then. Enter the time your clock showed.") % shown, code="dst_gap")
    raise forms.ValidationError(_("%(time)s on %(day)s happened twice in %(zone)s: the clocks went back then, so "
                                  "it is not clear which one you mean. Log that hour as entries that start and end "
                                  "outside it, or ask staff to add the time for you.") % shown, code="dst_ambiguous")


class TimeEntryForm(AccessibleForm):
    """Work on a batch from a start to an end time on one date of the contractor's calendar."""

    batch = BatchChoiceField(queryset=Batch.objects.none(), empty_label=gettext_lazy("Choose a batch…"),
                             label=gettext_lazy("Batch"))
    # ISO only: 04/11/2026 is April in one country and November in the next.
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"],
                           label=gettext_lazy("Date"))
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                 input_formats=CLOCK_FORMATS, label=gettext_lazy("Start time"))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                               input_formats=CLOCK_FORMATS, label=gettext_lazy("End time"),
                               help_text=gettext_lazy("An end before the start means the next day."))
    note = forms.CharField(max_length=500, required=False, validators=[validate_printable],
                           label=gettext_lazy("Note"), help_text=gettext_lazy("Optional: what you worked on."))

    def __init__(self, *args: Any, batches: QuerySet[Batch], zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["batch"].queryset = batches
        self.fields["date"].help_text = _("Your calendar (%(zone)s).") % {"zone": zone.key}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, start_time, end_time = data.get("date"), data.get("start_time"), data.get("end_time")
        if day is None or start_time is None or end_time is None:
            return data
        if end_time == start_time:
            self.add_error("end_time", _("Must be at least one minute after the start."))
            return data
        end_day = day + timedelta(days=1) if end_time < start_time else day
        for name, when, clock in (("start", day, start_time), ("end", end_day, end_time)):
            try:
                data[name] = local_to_utc(when, clock, self.zone)
            except forms.ValidationError as exc:
                self.add_error(f"{name}_time", exc)
        return data


class TimerStartForm(AccessibleForm):
    batch = BatchChoiceField(queryset=Batch.objects.none(), empty_label=gettext_lazy("Choose a batch…"),
                             label=gettext_lazy("Batch you work on now"))

    def __init__(self, *args: Any, batches: QuerySet[Batch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches


# --- the staff console ---------------------------------------------------------------------------

class IsoWeekField(forms.CharField):
    """An ISO week written like 2026-W48, cleaned to its Monday 00:00 UTC."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "ISO week, e.g. 2026-W48.")
        kwargs.setdefault("strip", False)  # exactly as week_parse takes it: "2026-W48\n" is refused, not trimmed
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
    q = forms.CharField(max_length=100, required=False, strip=True, label="Name or email")
    sort = forms.ChoiceField(choices=[(s, s) for s in review.SORTS], required=False)


class ApproveMatchingForm(WeekFilterForm):
    """Select-all: approve every submitted, unflagged timesheet the filter matches, having seen how many."""

    week = IsoWeekField()
    expected = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class DecisionForm(AccessibleForm):
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


class AdjustmentForm(AccessibleForm):
    job = forms.ModelChoiceField(queryset=Job.objects.order_by("name"), help_text="Its rate prices the minutes.")
    minutes = forms.IntegerField(help_text="Signed: 30 adds half an hour, -30 takes it back.")
    reason = forms.CharField(max_length=500, validators=[validate_printable], widget=forms.TextInput,
                             help_text="The contractor and the audit trail read it.")
    corrects_week = IsoWeekField(required=False, label="Corrects week",
                                 help_text="The locked week this corrects, e.g. 2026-W47; its rate applies.")


class PayTermsForm(AccessibleForm):
    effective_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="From (date, UTC)",
                                     help_text="Not in the past; pay already earned keeps its rate.")
    effective_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), initial=time(),
                                     label="From (time, UTC)")
    hourly_rate = forms.DecimalField(max_digits=8, decimal_places=2, label="Hourly rate (USD)")
    weekly_cap_hours = forms.DecimalField(max_digits=5, decimal_places=2, label="Weekly cap (hours)")
    reason = forms.CharField(max_length=500, validators=[validate_printable], widget=forms.TextInput)

    # The service names the moment it refuses; the form asks for it as a date and a time.
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
