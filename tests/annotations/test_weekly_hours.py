"""Capacity reads hours and the cap through the WeeklyHours payroll registers, and refuses clearly without one."""
import pytest

from annotations.selectors import weekly_hours as hours
from annotations.selectors.capacity import capacity_board
from tests.factories import job_plain


def test_payroll_registers_the_weekly_hours_when_the_apps_load() -> None:
    assert isinstance(hours.weekly_hours(), hours.WeeklyHours)


@pytest.mark.django_db
def test_capacity_without_a_registered_implementation_is_refused_naming_the_registration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hours, "_registered", [])
    with pytest.raises(RuntimeError, match="weekly_hours_register"):
        capacity_board(job_plain())
