"""Paid time: every job's pay terms over time, time entries, weekly timesheets, pay runs and statements.

Every row stores UTC; a pay week runs Monday 00:00 to Monday 00:00 UTC and is named by its ISO
week (2026-W48). Minutes are whole numbers; money is Decimal and is rounded to cents only on a
statement.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from annotations.models import Batch, Job
from workforce.models import Contractor


class PayTermsChange(models.Model):
    """A job's hourly rate and weekly cap from a moment on; the row without a moment is the job's opening terms.

    Making a job writes its opening terms (payroll.receivers), which hold from the job's start until its
    first change. A change never reaches back: its effective moment is not before the moment it was made,
    so pay already earned is never recomputed with a new rate.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="pay_terms_changes")
    effective_from = models.DateTimeField(null=True, blank=True, help_text="Empty: the job's opening terms.")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    weekly_cap_hours = models.DecimalField(max_digits=5, decimal_places=2, validators=[MinValueValidator(1)])
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", help_text="Empty for opening terms of a job made by a command.")
    # Not auto_now_add: a job's opening terms are dated with the job's own creation moment.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "effective_from"], name="pay_terms_once_per_moment"),
            models.UniqueConstraint(fields=["job"], condition=models.Q(effective_from__isnull=True),
                                    name="pay_terms_open_once_per_job"),
        ]
        ordering = ["job", models.F("effective_from").asc(nulls_first=True)]

    def __str__(self) -> str:
        since = f"{self.effective_from:%Y-%m-%d}" if self.effective_from else "the job's start"
        return f"{self.job}: {self.hourly_rate}/h, cap {self.weekly_cap_hours} h from {since}"


class TimesheetState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("timesheet state", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("timesheet state", "Submitted")
    APPROVED = "approved", pgettext_lazy("timesheet state", "Approved")
    REJECTED = "rejected", pgettext_lazy("timesheet state", "Rejected")
    PAID = "paid", pgettext_lazy("timesheet state", "Paid")


class Timesheet(models.Model):
    """One contractor's pay week. Its row is the lock that keeps the weekly cap under concurrency."""

    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, related_name="timesheets")
    week_start = models.DateTimeField(help_text="Monday 00:00 UTC.")
    state = models.CharField(max_length=16, choices=TimesheetState.choices, default=TimesheetState.DRAFT)
    # Work minutes this week, kept in step with the entries inside the same locked transaction.
    work_minutes = models.IntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", help_text="Empty when the week was closed automatically.")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    rejection_reason = models.CharField(max_length=1000, blank=True)
    warned_80_at = models.DateTimeField(null=True, blank=True)
    warned_100_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contractor", "week_start"], name="timesheet_once_per_week")]
        indexes = [models.Index(fields=["week_start", "state"])]
        ordering = ["week_start", "contractor_id"]

    def __str__(self) -> str:
        return f"{self.contractor_id} {self.week_start:%G-W%V} ({self.state})"


class EntryKind(models.TextChoices):
    WORK = "work", "Work"
    ADJUSTMENT = "adjustment", "Adjustment"


class TimeEntry(models.Model):
    """Work logged against a batch (start to end, whole minutes), or a staff adjustment with a reason.

    The hourly rate is the job's rate in force at the entry's start, kept on the entry so that a
    later change of terms never alters it. Adjustments carry signed minutes and no end.
    """

    timesheet = models.ForeignKey(Timesheet, on_delete=models.PROTECT, related_name="entries")
    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, related_name="time_entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices, default=EntryKind.WORK)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="time_entries")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    minutes = models.IntegerField()
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    note = models.CharField(max_length=500, blank=True)
    corrects_week = models.DateTimeField(null=True, blank=True,
                                         help_text="For an adjustment: the start of the locked week it corrects.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="work") | models.Q(end__gt=models.F("start"), minutes__gt=0),
                name="work_entry_has_positive_span"),
        ]
        indexes = [models.Index(fields=["contractor", "start"])]
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.minutes} min of {self.contractor_id} at {self.start:%Y-%m-%d %H:%M}"


class RunningTimer(models.Model):
    """A started, not yet stopped, timer in the contractor's dashboard."""

    contractor = models.OneToOneField(Contractor, on_delete=models.CASCADE, related_name="running_timer")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"timer of {self.contractor_id} since {self.started_at:%H:%M}"


class PayRun(models.Model):
    """Staff paid the approved timesheets of one week that were not paid before."""

    week_start = models.DateTimeField()
    minimum_payout = models.DecimalField(max_digits=8, decimal_places=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The payroll staff role (common.roles); it needs a second factor.
        permissions = [("run_payroll", "Approve timesheets, run pay, download payout files and exports, set pay terms")]

    def __str__(self) -> str:
        return f"pay run {self.pk} for {self.week_start:%G-W%V}"


class Statement(models.Model):
    """What one contractor earned in one week and what this pay run pays them (at most one per week)."""

    pay_run = models.ForeignKey(PayRun, on_delete=models.PROTECT, related_name="statements")
    timesheet = models.OneToOneField(Timesheet, on_delete=models.PROTECT, related_name="statement")
    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, related_name="statements")
    minutes = models.IntegerField()
    earned = models.DecimalField(max_digits=10, decimal_places=2, help_text="Hours x rate, rounded half-up to cents.")
    carried_in = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    payable = models.DecimalField(max_digits=10, decimal_places=2, help_text="Paid by this run.")
    carried_out = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"),
                                      help_text="Below the minimum payout: carried to the next run.")
    currency = models.CharField(max_length=3, default="USD")
    payout_method = models.CharField(max_length=16, blank=True)
    payout_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contractor_id", "id"]

    def __str__(self) -> str:
        return f"statement {self.pk}: {self.currency} {self.payable}"
