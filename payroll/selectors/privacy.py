"""The payroll app's sections of a contractor's privacy export: their time entries, timesheets and pay statements.
One query each, whatever the number of rows; money as decimal strings with cents, times as ISO 8601 UTC.

Registered with workforce.privacy from PayrollConfig.ready().
"""
from datetime import datetime
from decimal import Decimal
from typing import Any

from payroll.models import Statement, TimeEntry, Timesheet
from workforce.models import Contractor


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def time_entries_export(contractor: Contractor) -> list[dict[str, Any]]:
    """Every time entry of the contractor (work and staff adjustments), oldest first."""
    rows = (TimeEntry.objects.filter(contractor=contractor).order_by("start", "id")
            .values("id", "kind", "job_id", "job__name", "batch__number", "timesheet__week_start", "start", "end",
                    "minutes", "hourly_rate", "note", "corrects_week", "created_at"))
    return [{"id": r["id"], "kind": r["kind"], "job": {"id": r["job_id"], "name": r["job__name"]},
             "batch": r["batch__number"], "week_start": _iso(r["timesheet__week_start"]),
             "start": _iso(r["start"]), "end": _iso(r["end"]), "minutes": r["minutes"],
             "hourly_rate": _money(r["hourly_rate"]), "note": r["note"], "corrects_week": _iso(r["corrects_week"]),
             "created_at": _iso(r["created_at"])}
            for r in rows]


def timesheets_export(contractor: Contractor) -> list[dict[str, Any]]:
    """Every weekly timesheet of the contractor, oldest week first."""
    rows = (Timesheet.objects.filter(contractor=contractor).order_by("week_start", "id")
            .values("id", "week_start", "state", "work_minutes", "submitted_at", "decided_at", "rejection_reason",
                    "created_at"))
    return [{"id": r["id"], "week_start": _iso(r["week_start"]), "state": r["state"],
             "work_minutes": r["work_minutes"], "submitted_at": _iso(r["submitted_at"]),
             "decided_at": _iso(r["decided_at"]), "rejection_reason": r["rejection_reason"],
             "created_at": _iso(r["created_at"])}
            for r in rows]


def statements_export(contractor: Contractor) -> list[dict[str, Any]]:
    """Every pay statement of the contractor: what each pay run earned, carried and paid them, and where to."""
    rows = (Statement.objects.filter(contractor=contractor).order_by("created_at", "id")
            .values("id", "pay_run_id", "pay_run__week_start", "timesheet_id", "minutes", "earned", "carried_in",
                    "payable", "carried_out", "currency", "payout_method", "payout_email", "created_at"))
    return [{"id": r["id"], "pay_run": r["pay_run_id"], "week_start": _iso(r["pay_run__week_start"]),
             "timesheet": r["timesheet_id"], "minutes": r["minutes"], "earned": _money(r["earned"]),
             "carried_in": _money(r["carried_in"]), "payable": _money(r["payable"]),
             "carried_out": _money(r["carried_out"]), "currency": r["currency"],
             "payout_method": r["payout_method"], "payout_email": r["payout_email"],
             "created_at": _iso(r["created_at"])}
            for r in rows]
