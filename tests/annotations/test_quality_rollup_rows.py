"""Stored quality rollups: kept by the scorer and the sync, repaired by quality_rollups_rebuild, read by the boards."""
import io
import random
import statistics
import uuid
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import (
    Annotation,
    BatchTask,
    ContractorQualityRollup,
    GoldSource,
    Job,
    LabelStudioAccount,
    ReviewState,
    Task,
)
from annotations.quality.labelstudio_json import brush_result
from annotations.selectors.capacity import SECONDS_PER_HOUR, hours_per_task_by_contractor
from annotations.selectors.quality import quality_board, quality_board_rows, quality_rollups
from annotations.services import scoring
from annotations.services.gold import gold_set
from annotations.services.sync import annotation_mark_deleted, annotation_upsert
from tests.factories import ContractorFactory, batch_held_by, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(staff_user(role="reviewer"))
    return client


def _stored(contractor: Contractor) -> tuple:
    row = ContractorQualityRollup.objects.get(contractor=contractor)
    return row.score, row.n, row.per_class, row.weakest_class or None, row.rubber_stamps


def _live(contractor: Contractor) -> tuple:
    rollup = quality_rollups([contractor.pk])[contractor.pk]
    return rollup.score, rollup.n, rollup.per_class, rollup.weakest_class, rollup.rubber_stamps


def _square(x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((8, 8), bool)
    mask[1:5, x0:x1] = True
    return mask


def test_the_stored_rollup_follows_each_new_score_and_the_re_score_after_a_gold_change(job: Job) -> None:
    ana = contractor_in_state(OnboardingState.ACTIVE)
    task = Task.objects.create(job=job, key="panel", image_path="none.jpg", image_sha256=uuid.uuid4().hex,
                               width=8, height=8)
    gold_set(task=task, result=[brush_result(_square(1, 5), label="Scratch", rid="g")], source=GoldSource.IMPORT)
    bt = BatchTask.objects.create(batch=batch_held_by(ana, job=job), task=task, is_gold=True)
    answer = Annotation.objects.create(
        ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt, contractor=ana,
        result=[brush_result(_square(1, 5), label="Scratch", rid="a")], review_state=ReviewState.SCORING,
        ls_created_at=timezone.now(), lead_time=60.0)
    assert not ContractorQualityRollup.objects.filter(contractor=ana).exists()

    scoring.score_annotation(annotation_id=answer.pk)
    assert _stored(ana)[:2] == (1.0, 1)

    # New gold: the old score counts until the re-score the gold change queues, which moves the row.
    gold_set(task=task, result=[brush_result(_square(3, 7), label="Scratch", rid="g2")], source=GoldSource.IMPORT)
    assert _stored(ana)[:2] == (1.0, 1)
    scoring.score_annotation(annotation_id=answer.pk)
    assert _stored(ana) == _live(ana)
    assert _stored(ana)[0] == pytest.approx(8 / 24)  # 2 of the 4 columns overlap: 8 px of 24 in the union


def test_a_deleted_annotation_leaves_the_stored_rollup_at_once(score: Callable) -> None:
    ana = ContractorFactory()
    score(ana, 0.9)
    bad = score(ana, 0.1)
    assert _stored(ana)[:2] == (pytest.approx(0.5), 2)
    assert annotation_mark_deleted(ls_annotation_id=bad.annotation.ls_annotation_id)
    assert _stored(ana)[:2] == (0.9, 1)


def test_an_annotation_cancelled_in_label_studio_leaves_the_stored_rollup(score: Callable) -> None:
    ana = ContractorFactory()
    score(ana, 0.9)
    cancelled = score(ana, 0.1).annotation
    BatchTask.objects.filter(pk=cancelled.batch_task_id).update(ls_task_id=777_001)
    LabelStudioAccount.objects.create(contractor=ana, ls_user_id=888_001, email="ana@example.com")
    annotation_upsert(payload={"id": cancelled.ls_annotation_id, "task": 777_001, "completed_by": 888_001,
                               "result": [], "was_cancelled": True, "created_at": cancelled.ls_created_at.isoformat()})
    assert _stored(ana)[:2] == (0.9, 1)
    assert _stored(ana) == _live(ana)


def test_the_rebuild_command_repairs_rows_changed_or_lost_by_hand(score: Callable) -> None:
    ana, bo, cy = ContractorFactory(), ContractorFactory(), ContractorFactory()
    for contractor, value in ((ana, 0.8), (bo, 0.4), (cy, 0.6)):
        score(contractor, value)
    ContractorQualityRollup.objects.filter(contractor=ana).update(score=0.01, n=99)
    ContractorQualityRollup.objects.filter(contractor=bo).delete()
    out = io.StringIO()
    call_command("quality_rollups_rebuild", "--chunk", "2", stdout=out)
    assert f"{Contractor.objects.count()} contractors recomputed, 2 rows written" in out.getvalue()
    assert [_stored(c) for c in (ana, bo, cy)] == [_live(c) for c in (ana, bo, cy)]
    out = io.StringIO()
    call_command("quality_rollups_rebuild", stdout=out)
    assert "0 rows written" in out.getvalue()


def test_the_board_reads_the_live_numbers_weakest_first_unscored_last_then_by_id(score: Callable) -> None:
    crew = [contractor_in_state(OnboardingState.ACTIVE) for _ in range(6)]
    rng = random.Random(3)
    for contractor in crew[:4]:
        for _ in range(3):
            score(contractor, round(rng.uniform(0.2, 1.0), 2), rubber_stamp=rng.random() < 0.3)
    score(crew[4], 0.5)
    score(crew[5], 0.5)  # a tie: the lower id first
    rows = quality_board_rows(quality_board())
    live = quality_rollups(c.pk for c in crew)
    expected = sorted(crew, key=lambda c: (live[c.pk].score is None, live[c.pk].score or 0, c.pk))
    assert [c.pk for c, _ in rows if c in crew] == [c.pk for c in expected]
    assert all(rollup == live[c.pk] for c, rollup in rows if c in crew)


def test_the_quality_board_page_costs_the_same_queries_for_3_and_30_contractors(
        staff_client: Client, score: Callable) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse("console:quality")).status_code == 200
        return len(captured)

    for _ in range(3):
        score(contractor_in_state(OnboardingState.ACTIVE), 0.7)
    few = queries()
    for _ in range(27):
        score(contractor_in_state(OnboardingState.ACTIVE), 0.7)
    assert queries() == few


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_the_pace_is_the_median_of_the_sample_as_statistics_takes_it(job: Job, n: int) -> None:
    ana = ContractorFactory()
    bt = BatchTask.objects.create(batch=batch_held_by(ana, job=job), task=Task.objects.create(
        job=job, key="p", image_path="none.jpg", image_sha256=uuid.uuid4().hex, width=8, height=8))
    rng = random.Random(n)
    seconds = [rng.uniform(10, 900) for _ in range(n)]
    for value in seconds:
        Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt, contractor=ana,
                                  lead_time=value, ls_created_at=timezone.now())
    nobody = ContractorFactory()
    paces = hours_per_task_by_contractor([ana.pk, nobody.pk])
    assert paces[ana.pk] == Decimal(str(statistics.median(seconds))) / SECONDS_PER_HOUR
    assert paces[nobody.pk] == Decimal("0.25")
