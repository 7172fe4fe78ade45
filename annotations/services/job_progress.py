"""The stored job progress counts (JobProgress): the one writer, scheduled by every service that changes what they
count (annotations synced or deleted, review decisions, batch moves, publishing, gold, tasks and batches created,
scores written), and the repair that recomputes them all (manage.py job_progress_rebuild).

A change only schedules its job (job_progress_touch): the row is recomputed once, after the writing transaction
commits, however many changes that transaction made to the job."""
import logging
from collections.abc import Iterable

from django.db import connection, transaction

from annotations.models import Job, JobProgress
from annotations.selectors.jobs import PROGRESS_FIELDS, job_progress_live

logger = logging.getLogger(__name__)


@transaction.atomic
def job_progress_refresh(*, job_id: int) -> bool:
    """Recompute the job's stored counts from its rows; True when the row was missing or different. The job row
    is locked (no key update) before the counts are read: two refreshes of one job run one after the other, so the
    row last written is never the one that read before the other's change committed."""
    job = Job.objects.select_for_update(no_key=True).filter(pk=job_id).first()
    if job is None:
        return False
    counts = job_progress_live(job)
    stored = JobProgress.objects.filter(job=job).values(*PROGRESS_FIELDS).first()
    if stored == counts:
        return False
    JobProgress.objects.update_or_create(job=job, defaults=counts)
    return True


class _Refresh:
    """An on-commit callback refreshing one job, recognisable among the transaction's pending callbacks."""

    def __init__(self, job_id: int) -> None:
        self.job_id, self.ran = job_id, False

    def __call__(self) -> None:
        self.ran = True  # a test's captured callbacks stay in the list once run
        job_progress_refresh(job_id=self.job_id)


def job_progress_touch(*, job_ids: Iterable[int | None]) -> None:
    """Schedule these jobs' counts to be recomputed once the current transaction commits (at once outside one): at
    most one refresh per job and transaction. A transaction rolled back drops its refreshes with it. A failing
    refresh is logged, not raised, as the change itself has committed; the rebuild repairs the row."""
    pending = {f.job_id for _, f, _ in connection.run_on_commit if isinstance(f, _Refresh) and not f.ran}
    for job_id in sorted({pk for pk in job_ids if pk is not None} - pending):
        transaction.on_commit(_Refresh(job_id), robust=True)


def job_progress_rebuild() -> tuple[int, int]:
    """Recompute every job's stored counts, one job per transaction; returns (jobs recomputed, rows that were
    missing or wrong). The repair after tasks, batches or annotations were written around the services."""
    ids = list(Job.objects.order_by("pk").values_list("pk", flat=True))
    return len(ids), sum(job_progress_refresh(job_id=pk) for pk in ids)
