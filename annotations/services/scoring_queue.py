"""Queuing scoring work for the workers, after commit: one annotation, many in chunks, a job's or a batch's re-score."""
from annotations.models import Job
from annotations.selectors.quality import scorable_annotation_ids
from annotations.services import dispatch

CHUNK_SIZE = 50  # annotation ids per re-score task: one message each, still spread over the workers


def annotation_score_enqueue(*, annotation_id: int) -> None:
    """Queue one annotation for scoring (new or changed work on a gold task)."""
    dispatch.task_send("score_annotation", annotation_id)


def scoring_enqueue(*, annotation_ids: list[int]) -> int:
    """Queue the annotations for scoring in chunks of CHUNK_SIZE; returns how many chunk tasks were sent."""
    chunks = [annotation_ids[i:i + CHUNK_SIZE] for i in range(0, len(annotation_ids), CHUNK_SIZE)]
    return dispatch.tasks_send("score_annotations", ([chunk] for chunk in chunks))


def job_rescore_enqueue(*, job: Job) -> None:
    """Queue a re-score of the job in the background (scores already made on the current gold are kept)."""
    dispatch.task_send("rescore_job", job.pk)


def rescore_enqueue(*, job_id: int | None = None, batch_id: int | None = None) -> int:
    """Queue the scoring of every live annotation on the gold tasks of a job or a batch; returns how many."""
    ids = scorable_annotation_ids(job_id=job_id, batch_id=batch_id)
    scoring_enqueue(annotation_ids=ids)
    return len(ids)
