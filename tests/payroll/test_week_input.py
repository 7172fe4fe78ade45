"""A week is ASCII YYYY-Www in 2000-2100 and a real ISO week, exactly: anything else is a 400 naming the field on
every page, export, API and command that takes a week (9999-W52 used to reach the exports and die as a 500)."""
import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from common.errors import DomainError
from payroll.selectors.weeks import week_name, week_parse
from tests.conftest import REPO_ROOT
from workforce.models import Contractor, User

pytestmark = pytest.mark.django_db

FULL_WIDTH = "\uff12\uff10\uff12\uff16-W48"  # 2026-W48 in full-width digits, which \d matches
BAD_WEEKS = ["9999-W52", "0001-W01", "2026-W48\n", FULL_WIDTH, "2026-W54", "1999-W52", "2101-W01", "2026-W00",
             " 2026-W48", "2026-w48", "2026-W4\uff18"]
NAMED = {"9999-W52": "outside the years 2000 to 2100", "0001-W01": "outside the years 2000 to 2100",
         "2026-W48\n": "YYYY-Www", FULL_WIDTH: "YYYY-Www", "2026-W54": "not a week of that year (2026 has 53"}
PROBES = list(NAMED)


# --- the parser ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "monday"), [
    ("2026-W48", datetime(2026, 11, 23, tzinfo=UTC)), ("2026-W53", datetime(2026, 12, 28, tzinfo=UTC)),
    ("2000-W01", datetime(2000, 1, 3, tzinfo=UTC)), ("2100-W52", datetime(2100, 12, 27, tzinfo=UTC)),
])
def test_a_real_week_in_range_is_its_monday(name: str, monday: datetime) -> None:
    assert week_parse(name) == monday
    assert week_name(monday) == name


@pytest.mark.parametrize("name", [*BAD_WEEKS, "2025-W53", "", None, 202648])
def test_anything_else_is_a_400_naming_the_field(name: object) -> None:
    with pytest.raises(DomainError) as refused:
        week_parse(name, field="corrects_week")
    assert (refused.value.status, refused.value.field) == (400, "corrects_week")
    assert refused.value.message.startswith("corrects_week: ")
    if name in NAMED:
        assert NAMED[name] in refused.value.message


# --- every door -----------------------------------------------------------------------------------------------

def _client(user: User, api: bool = False) -> Client:
    client = APIClient() if api else Client()
    client.force_login(user)
    return client


def _in_path(week: str) -> str:
    return quote(week, safe="")


@pytest.mark.parametrize("week", PROBES)
def test_staff_pages_and_exports_answer_400(staff: User, week: str) -> None:
    client = _client(staff)
    page = client.get("/console/payroll/", {"week": week})
    assert page.status_code == 400
    assert NAMED[week] in page.content.decode()
    for fmt in ("csv", "xlsx"):
        export = client.get(f"/console/payroll/weeks/{_in_path(week)}/export.{fmt}")
        assert export.status_code == 400, fmt
        assert export.content.decode().startswith("week: ")
        assert NAMED[week] in export.content.decode()


@pytest.mark.parametrize("week", PROBES)
def test_staff_api_answers_400_naming_the_week(staff: User, week: str) -> None:
    api = _client(staff, api=True)
    for url in (f"/api/v1/payroll/weeks/{_in_path(week)}/timesheets/",
                f"/api/v1/payroll/weeks/{_in_path(week)}/export?format=csv",
                f"/api/v1/payroll/weeks/{_in_path(week)}/export?format=xlsx"):
        response = api.get(url)
        assert response.status_code == 400, url
        assert response.json()["week"] == [response.json()["detail"]]
        assert NAMED[week] in response.json()["detail"]
    pay_run = api.post("/api/v1/payroll/pay-runs/", {"week": week}, format="json")
    assert pay_run.status_code == 400
    assert "week" in pay_run.json()


@pytest.mark.parametrize("week", PROBES)
def test_the_contractor_s_pages_and_api_answer_400(contractor: Contractor, week: str) -> None:
    client = _client(contractor.user)
    page = client.get("/pay/", {"week": week})
    assert page.status_code == 400
    assert NAMED[week] in page.content.decode()
    submit = client.post(f"/pay/weeks/{_in_path(week)}/submit/")
    assert submit.status_code == 400
    assert submit.content.decode().startswith("week: ")
    api = _client(contractor.user, api=True)
    assert api.get("/api/v1/payroll/me/time-entries/", {"week": week}).status_code == 400
    submitted = api.post(f"/api/v1/payroll/me/timesheets/{_in_path(week)}/submit/")
    assert submitted.status_code == 400
    assert NAMED[week] in submitted.json()["week"][0]


@pytest.mark.parametrize("week", PROBES)
def test_the_export_command_refuses_in_one_line(week: str) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("export_timesheets", "--week", week, "--output", "-", stdout=StringIO())
    assert str(refused.value).startswith("--week: ")
    assert NAMED[week] in str(refused.value)


def test_the_export_command_exits_non_zero_with_one_line_on_stderr() -> None:
    done = subprocess.run([sys.executable, "manage.py", "export_timesheets", "--week", "9999-W52", "--output", "-"],
                          cwd=REPO_ROOT, env=os.environ, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == ["CommandError: --week: 9999-W52 is outside the years 2000 to 2100."]
