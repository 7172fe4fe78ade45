"""Fixtures of the annotations tests: hand-made quality scores on gold tasks of a plain job."""
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from annotations.models import Annotation, BatchTask, Job, QualityScore, ScoreState, Task
from annotations.services.gold import gold_current
from annotations.services.quality_rollups import quality_rollups_refresh
from tests.factories import batch_held_by, job_plain
from workforce.models import Contractor

SCORES_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def gold_task(job: Job) -> Task:
    """A task with gold (an empty one: these tests write the scores by hand)."""
    return Task.objects.create(job=job, key=uuid.uuid4().hex[:8], image_path="none.jpg",
                               image_sha256=uuid.uuid4().hex, width=8, height=8, gold_result=[])


def per_class_report(**ious: float | None) -> dict:
    """A score's per_class with only IoUs: per_class_report(Scratch=0.9, missing_surface=0.2)."""
    return {label.replace("_", " "): {"iou": iou, "dice": None} for label, iou in ious.items()}


@pytest.fixture
def job() -> Job:
    return job_plain()


@pytest.fixture
def score(job: Job) -> Callable[..., QualityScore]:
    """score(contractor, macro_iou, task=..., minutes=...) writes an annotation of a gold task and its score (and
    refreshes the contractor's stored rollup, as the scorer does)."""
    clock = iter(range(10_000))

    def make(contractor: Contractor, macro_iou: float | None, *, task: Task | None = None,
             minutes: int | None = None, per_class: dict | None = None, rubber_stamp: bool = False,
             state: str = ScoreState.SCORED, **annotation: object) -> QualityScore:
        task = task or gold_task(job)
        bt = BatchTask.objects.filter(task=task, batch__assigned_to=contractor).first() or BatchTask.objects.create(
            batch=batch_held_by(contractor, job=job), task=task, is_gold=True)
        at = SCORES_START + timedelta(minutes=next(clock) if minutes is None else minutes)
        made = Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                         contractor=contractor, ls_created_at=at, **annotation)
        made_score = QualityScore.objects.create(
            annotation=made, gold=gold_current(task), state=state, macro_iou=macro_iou,
            per_class=per_class if per_class is not None else per_class_report(Scratch=macro_iou),
            rubber_stamp=rubber_stamp, result_digest="x", scored_at=at)
        quality_rollups_refresh(contractor_ids=[contractor.pk])  # as the scorer does after writing a score
        return made_score
    return make
