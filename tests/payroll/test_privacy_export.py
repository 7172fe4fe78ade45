"""The privacy export is complete: hours, timesheets, statements, quality scores with their overlays and annotation
references join the profile, declarations, agreements and transitions; nothing of anyone else; constant queries."""
import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import Annotation, Batch, BatchTask, GoldSource, GoldVersion, QualityScore, Task
from payroll.models import Timesheet
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.factories import batch_assigned, contractor_in_state, staff_user
from tests.payroll.conftest import NOW, at
from workforce.models import Contractor, OnboardingState, User
from workforce.services.privacy import contractor_data_export

pytestmark = pytest.mark.django_db
W47 = at(16, 0)


def _worked(contractor: Contractor, staff: User, *, entries: int) -> dict:
    """A contractor's week W47 of `entries` 10-minute entries on a held batch, approved and paid, and one annotation
    of theirs scored against gold with an overlay; what was made, by kind."""
    batch = batch_assigned(contractor)
    for i in range(entries):
        start = at(16 + i // 10, 8 + i % 10)
        time_entry_create(contractor=contractor, batch=batch, start=start, end=start + timedelta(minutes=10),
                          actor=contractor.user, now=at(22, 23))
    sheet = Timesheet.objects.get(contractor=contractor, week_start=W47)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=at(23, 0))  # Monday 00:00 UTC: W47 has ended
    timesheet_decide(timesheet=sheet, approve=True, actor=staff, now=NOW)
    statement = pay_run_execute(week_start=W47, actor=staff).statements.get(contractor=contractor)
    annotation, score = _scored_annotation(contractor, batch)
    return {"batch": batch, "sheet": sheet, "statement": statement, "annotation": annotation, "score": score}


def _scored_annotation(contractor: Contractor, batch: Batch) -> tuple[Annotation, QualityScore]:
    key = f"photo-{uuid.uuid4().hex[:8]}"
    task = Task.objects.create(job=batch.job, key=key, image_path=f"x/{key}.jpg", image_sha256=uuid.uuid4().hex,
                               width=4, height=4)
    batch_task = BatchTask.objects.create(batch=batch, task=task, is_gold=True)
    mask = [{"type": "brushlabels", "value": {"rle": [1, 2, 3], "brushlabels": ["scratch"]}}]
    annotation = Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=batch_task,
                                           contractor=contractor, result=mask, ls_created_at=at(17, 9))
    gold = GoldVersion.objects.create(task=task, version=1, result=mask, source=GoldSource.choices[0][0])
    score = QualityScore.objects.create(annotation=annotation, gold=gold, state="scored", macro_iou=0.75,
                                        per_class={"scratch": {"iou": 0.75}}, overlay_path=f"overlays/{key}.jpg",
                                        result_digest="d", scored_at=timezone.now())
    return annotation, score


@pytest.fixture
def staff() -> User:
    return staff_user(role="payroll", mfa=True)


def test_the_export_holds_hours_timesheets_statements_scores_and_annotations_and_nothing_of_another(
    staff: User,
) -> None:
    ana, bo = contractor_in_state(OnboardingState.ACTIVE), contractor_in_state(OnboardingState.ACTIVE)
    mine, theirs = _worked(ana, staff, entries=3), _worked(bo, staff, entries=2)
    client = Client()
    client.force_login(ana.user)
    answer = client.get("/api/v1/me/export/")
    assert answer.status_code == 200
    data = answer.json()
    # The page's download holds the same sections.
    page = client.get("/privacy/my-data.json")
    assert page.status_code == 200
    assert set(json.loads(page.content)) == set(data)
    for section in ("profile", "tax_declarations", "agreement_acceptances", "state_history"):
        assert section in data

    assert [(e["minutes"], e["hourly_rate"], e["batch"]) for e in data["time_entries"]] == [
        (10, "2.00", mine["batch"].number)] * 3
    assert data["time_entries"][0]["start"] == at(16, 8).isoformat()
    assert [(t["id"], t["state"], t["work_minutes"]) for t in data["timesheets"]] == [
        (mine["sheet"].pk, "paid", 30)]
    assert [(s["id"], s["earned"], s["payable"], s["currency"]) for s in data["statements"]] == [
        (mine["statement"].pk, "1.00", str(mine["statement"].payable), "USD")]
    [score] = data["quality_scores"]
    assert (score["id"], score["annotation_id"], score["macro_iou"]) == (mine["score"].pk, mine["annotation"].pk, 0.75)
    assert score["overlay_url"].endswith(f"/quality/scores/{mine['score'].pk}.jpg")
    [note] = data["annotations"]
    assert (note["id"], note["job"]["id"], note["batch"], note["photo_key"]) == (
        mine["annotation"].pk, mine["batch"].job_id, mine["batch"].number, mine["annotation"].batch_task.task.key)
    assert note["created_at"] == at(17, 9).isoformat()
    text = json.dumps(data)
    assert "rle" not in text  # references only: no mask
    assert "is_gold" not in text  # and which photos are hidden gold stays hidden
    # Nothing of Bo's.
    assert theirs["annotation"].batch_task.task.key not in text
    assert bo.user.email not in text
    assert all(e["id"] not in set(bo.time_entries.values_list("id", flat=True)) for e in data["time_entries"])
    assert theirs["sheet"].pk not in {t["id"] for t in data["timesheets"]}
    assert theirs["statement"].pk not in {s["id"] for s in data["statements"]}
    # The overlay link opens for Ana (404 here only because the test wrote no JPEG) and never for Bo.
    other = Client()
    other.force_login(bo.user)
    assert other.get(f"/quality/scores/{mine['score'].pk}.jpg").status_code == 404


def _export_queries(staff: User, entries: int) -> int:
    contractor = contractor_in_state(OnboardingState.ACTIVE)
    _worked(contractor, staff, entries=entries)
    contractor = Contractor.objects.select_related("user").get(pk=contractor.pk)
    with CaptureQueriesContext(connection) as queries:
        data = contractor_data_export(contractor=contractor)
    assert len(data["time_entries"]) == entries
    return len(queries)


def test_the_export_costs_the_same_queries_for_3_and_30_entries(staff: User) -> None:
    assert _export_queries(staff, 3) == _export_queries(staff, 30)
