"""Rolling quality per contractor from hand-made scores: the window, per-class weakness, pause and qualification."""
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import Batch, BatchTask, GoldSource, Job, QualityScore, ScoreState
from annotations.quality.labelstudio_json import brush_result
from annotations.selectors.capacity import capacity_board
from annotations.selectors.quality import quality_rollups
from annotations.services.assignment import batches_auto_assign
from annotations.services.contractor_quality import contractor_quality_apply
from annotations.services.gold import gold_set
from tests.annotations.conftest import gold_task, per_class_report
from tests.factories import ContractorFactory, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

S = OnboardingState
pytestmark = pytest.mark.django_db


def test_the_rolling_score_is_the_mean_over_the_latest_gold_tasks(settings: object, score: Callable) -> None:
    settings.QUALITY_ROLLING_WINDOW = 3
    ana, bo = ContractorFactory(), ContractorFactory()
    for value in (0.1, 0.2, 0.9, 0.8, 0.7):
        score(ana, value)
    score(bo, 0.5)
    rollups = quality_rollups([ana.pk, bo.pk])
    assert rollups[ana.pk].n == 3
    assert rollups[ana.pk].score == pytest.approx(0.8)
    assert (rollups[bo.pk].n, rollups[bo.pk].score) == (1, 0.5)


def test_a_contractor_without_scores_has_no_rolling_score(score: Callable) -> None:
    nobody = ContractorFactory()
    rollup = quality_rollups([nobody.pk])[nobody.pk]
    assert (rollup.score, rollup.n, rollup.weakest_class, rollup.per_class) == (None, 0, None, {})


def test_a_gold_task_done_twice_counts_once_with_the_latest_annotation_on_the_newest_gold(
    job: Job, score: Callable,
) -> None:
    ana = ContractorFactory()
    task = gold_task(job)
    score(ana, 0.2, task=task, minutes=1)
    latest = score(ana, 0.6, task=task, minutes=2)
    # Gold changed: the newest version's score of the latest annotation is the one that counts.
    newer = gold_set(task=task, result=[brush_result(np.eye(8, dtype=bool), label="Scratch", rid="s")],
                     source=GoldSource.IMPORT)
    QualityScore.objects.create(annotation=latest.annotation, gold=newer, state=ScoreState.SCORED, macro_iou=0.9,
                                per_class=per_class_report(Scratch=0.9), result_digest="x", scored_at=timezone.now())
    rollup = quality_rollups([ana.pk])[ana.pk]
    assert (rollup.n, rollup.score) == (1, 0.9)


def test_errors_skipped_deleted_and_unassigned_work_do_not_count(score: Callable) -> None:
    ana = ContractorFactory()
    score(ana, 0.8)
    score(ana, None, state=ScoreState.ERROR)
    score(ana, 0.0, deleted=True)
    score(ana, 0.0, was_cancelled=True)
    score(ana, 0.0, unassigned_work=True)
    rollup = quality_rollups([ana.pk])[ana.pk]
    assert (rollup.n, rollup.score) == (1, 0.8)


def test_per_class_means_name_the_weakest_class_and_rubber_stamps_are_counted(score: Callable) -> None:
    ana = ContractorFactory()
    score(ana, 0.7, per_class=per_class_report(Scratch=0.9, Pit=0.5, Crack=None), rubber_stamp=True)
    score(ana, 0.5, per_class=per_class_report(Scratch=0.7, Pit=0.3))
    # Nothing to find and nothing drawn: no IoU, and it counts as a perfect answer.
    score(ana, None, per_class=per_class_report(Scratch=None))
    rollup = quality_rollups([ana.pk])[ana.pk]
    assert rollup.n == 3
    assert rollup.score == pytest.approx((0.7 + 0.5 + 1.0) / 3)
    assert rollup.per_class == pytest.approx({"Scratch": 0.8, "Pit": 0.4})
    assert rollup.weakest_class == "Pit"
    assert rollup.rubber_stamps == 1


def test_rollups_cost_the_same_queries_for_1_and_20_contractors(score: Callable) -> None:
    contractors = [ContractorFactory() for _ in range(20)]
    for i, contractor in enumerate(contractors):
        for value in (0.3, 0.6)[: 1 + i % 2]:
            score(contractor, value)
    with CaptureQueriesContext(connection) as one:
        quality_rollups([contractors[0].pk])
    with CaptureQueriesContext(connection) as many:
        rollups = quality_rollups([c.pk for c in contractors])
    assert len(one) == len(many) == 1
    assert rollups[contractors[1].pk].score == pytest.approx(0.45)


# --- the rules -------------------------------------------------------------------------------

def test_an_active_contractor_below_the_threshold_is_paused_and_told_why(
    score: Callable, django_capture_on_commit_callbacks: Callable,
) -> None:
    ana = contractor_in_state(S.ACTIVE)
    for _ in range(5):
        score(ana, 0.3, per_class=per_class_report(Scratch=0.5, Pit=0.1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        contractor_quality_apply(contractor_id=ana.pk)
    ana.refresh_from_db()
    assert ana.state == S.PAUSED
    assert "0.30 over your last 5" in ana.state_reason
    assert "weakest class is Pit (mean IoU 0.10)" in ana.state_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [ana.user.email]
    assert "weakest class is Pit" in mail.outbox[0].body


@pytest.mark.parametrize(("tasks", "value"), [(4, 0.1), (5, 0.4)])
def test_too_few_tasks_or_a_score_at_the_threshold_does_not_pause(score: Callable, tasks: int, value: float) -> None:
    ana = contractor_in_state(S.ACTIVE)
    for _ in range(tasks):
        score(ana, value)
    contractor_quality_apply(contractor_id=ana.pk)
    ana.refresh_from_db()
    assert ana.state == S.ACTIVE


def test_a_qualifying_contractor_without_a_round_who_passes_gets_the_score_recorded_not_approved(
        score: Callable) -> None:
    ana = contractor_in_state(S.QUALIFYING)
    score(ana, 0.7)
    score(ana, 0.6)
    contractor_quality_apply(contractor_id=ana.pk)
    ana.refresh_from_db()
    assert ana.qualification_score is None  # two tasks: not enough to judge
    score(ana, 0.65)
    contractor_quality_apply(contractor_id=ana.pk)
    ana.refresh_from_db()
    assert ana.qualification_score == Decimal("0.6500")
    assert ana.state == S.QUALIFYING


def test_a_qualifying_contractor_below_the_pass_mark_gets_the_score_recorded_for_staff(score: Callable) -> None:
    ana = contractor_in_state(S.QUALIFYING)
    for value in (0.5, 0.6, 0.6):
        score(ana, value)
    contractor_quality_apply(contractor_id=ana.pk)
    ana.refresh_from_db()
    assert ana.qualification_score == Decimal("0.5667")
    assert ana.state == S.QUALIFYING


def test_the_capacity_board_prefers_the_rolling_score_to_the_qualification_score(job: Job, score: Callable) -> None:
    scored, fresh = ContractorFactory(state=S.ACTIVE, qualification_score=Decimal("0.9")), ContractorFactory(
        state=S.ACTIVE, qualification_score=Decimal("0.8"))
    score(scored, 0.55)
    score(scored, 0.6)
    rows = {row.contractor_id: row for row in capacity_board(job)}
    assert rows[scored.pk].quality == Decimal("0.575")
    assert rows[fresh.pk].quality == Decimal("0.8")
    assert [row.contractor_id for row in capacity_board(job)] == [fresh.pk, scored.pk]


def test_auto_assignment_judges_the_rolling_score_not_the_first_qualification(job: Job, score: Callable) -> None:
    improved = contractor_in_state(S.ACTIVE)
    slipped = contractor_in_state(S.ACTIVE)
    Contractor.objects.filter(pk=improved.pk).update(qualification_score=Decimal("0.3"))
    for value in (0.8, 0.9):
        score(improved, value)
        score(slipped, value - 0.7)
    Job.objects.filter(pk=job.pk).update(max_open_batches=10)  # each score above holds a batch of the job
    batch = Batch.objects.create(job=job, number=99, ls_project_id=990_099, published_at=timezone.now())
    BatchTask.objects.create(batch=batch, task=gold_task(job))
    staff = staff_user()
    assert [e.contractor_id for e in batches_auto_assign(job=job, actor=staff)] == [improved.pk]
