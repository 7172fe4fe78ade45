"""Forms of the contractor's hours page: times are typed on the contractor's own clock and leave as UTC."""
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet

from annotations.models import Batch, BatchKind
from common.forms import AccessibleForm
from common.validators import validate_printable

CLOCK_FORMATS = ["%H:%M", "%H:%M:%S"]


class BatchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Batch) -> str:
        what = "qualification round" if obj.kind == BatchKind.QUALIFICATION else f"batch {obj.number}"
        return f"{obj.job.name}, {what}"


def local_to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on the contractor's calendar as UTC; a time the clocks skipped or showed twice
    (a daylight-saving change) is refused, since it cannot be told which moment was worked."""
    naive = datetime.combine(day, clock)
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier.astimezone(UTC)
    shown = f"{clock:%H:%M} on {day:%Y-%m-%d}"
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise forms.ValidationError(f"{shown} does not exist in {zone.key}: the clocks jumped forward then. "
                                    "Enter the time your clock showed.", code="dst_gap")
    raise forms.ValidationError(f"{shown} happened twice in {zone.key}: the clocks went back then, so it is not "
                                "clear which one you mean. Log that hour as entries that start and end outside "
                                "it, or ask staff for an adjustment.", code="dst_ambiguous")


class TimeEntryForm(AccessibleForm):
    """Work on a batch from a start to an end time on one date of the contractor's calendar."""

    batch = BatchChoiceField(queryset=Batch.objects.none(), empty_label="Choose a batch…")
    # ISO only: 04/11/2026 is April in one country and November in the next.
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"])
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                 input_formats=CLOCK_FORMATS)
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                               input_formats=CLOCK_FORMATS, help_text="An end before the start means the next day.")
    note = forms.CharField(max_length=500, required=False, validators=[validate_printable],
                           help_text="Optional: what you worked on.")

    def __init__(self, *args: Any, batches: QuerySet[Batch], zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["batch"].queryset = batches
        self.fields["date"].help_text = f"Your calendar ({zone.key})."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        day, start_time, end_time = data.get("date"), data.get("start_time"), data.get("end_time")
        if day is None or start_time is None or end_time is None:
            return data
        if end_time == start_time:
            self.add_error("end_time", "Must be at least one minute after the start.")
            return data
        end_day = day + timedelta(days=1) if end_time < start_time else day
        for name, when, clock in (("start", day, start_time), ("end", end_day, end_time)):
            try:
                data[name] = local_to_utc(when, clock, self.zone)
            except forms.ValidationError as exc:
                self.add_error(f"{name}_time", exc)
        return data


class TimerStartForm(AccessibleForm):
    batch = BatchChoiceField(queryset=Batch.objects.none(), empty_label="Choose a batch…",
                             label="Batch you work on now")

    def __init__(self, *args: Any, batches: QuerySet[Batch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches
