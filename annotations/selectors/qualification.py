"""Reads of the qualification round: an applicant's round and how far its scoring has got."""
import statistics
from dataclasses import dataclass

from django.conf import settings

from annotations.models import Batch, BatchKind
from annotations.selectors.quality import scored_on_gold, task_score


@dataclass(frozen=True)
class QualificationRound:
    """An applicant's qualification batch and how far its scoring has got."""

    batch: Batch
    tasks: int
    scored: int  # photos of the round with a scored answer by the applicant
    score: float | None  # mean macro IoU over those photos
    pass_mark: float

    @property
    def complete(self) -> bool:
        return self.scored >= self.tasks

    @property
    def passed(self) -> bool | None:
        """None until every photo is scored."""
        return None if not self.complete or self.score is None else self.score >= self.pass_mark


def qualification_round(*, contractor_id: int) -> QualificationRound | None:
    """The contractor's qualification round with its score so far (None if they never had one), in 3 queries."""
    batch = (Batch.objects.filter(kind=BatchKind.QUALIFICATION, assigned_to_id=contractor_id)
             .select_related("job").first())
    if batch is None:
        return None
    ious = list(scored_on_gold([contractor_id]).filter(annotation__batch_task__batch=batch)
                .values_list("macro_iou", flat=True))
    return QualificationRound(
        batch=batch, tasks=batch.batch_tasks.count(), scored=len(ious),
        score=statistics.fmean(task_score(v) for v in ious) if ious else None,
        pass_mark=settings.QUALITY_QUALIFICATION_PASS)
