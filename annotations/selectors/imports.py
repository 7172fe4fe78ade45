"""Import runs of a client's pre-annotations and gold, for the job page and its progress bars."""
from django.db.models import QuerySet

from annotations.models import ImportFormat, ImportKind, ImportRun, ImportState, Job

SHOWN = 5


def import_runs_recent(*, job: Job) -> QuerySet[ImportRun]:
    """The job's latest import runs, newest first."""
    return ImportRun.objects.filter(job=job).order_by("-created_at", "-id")[:SHOWN]


def import_run_progress(run: ImportRun) -> dict[str, object]:
    """What the page's progress bar polls: the run's state, counters and error."""
    return {
        "id": run.pk, "state": run.state, "state_label": run.get_state_display(),
        "finished": run.state in (ImportState.DONE, ImportState.FAILED), "error": run.error,
        "running": run.state not in (ImportState.DONE, ImportState.FAILED),
        **{name: getattr(run, name) for name in ("photos_total", "photos_checked", "masks_total", "masks_decoded",
                                                 "tasks_total", "tasks_published")},
    }


def coco_awaited(job: Job) -> str:
    """The token of the COCO file a job made from a ZIP of photos holds back its publishing for, until the operator
    maps its categories; "" once that import is queued (or for any other job)."""
    made = ImportRun.objects.filter(job=job, kind=ImportKind.PHOTOS, state=ImportState.DONE,
                                    job_settings__preannotations__format=ImportFormat.COCO).first()
    if made is None or ImportRun.objects.filter(job=job, publish_when_done=True).exists():
        return ""
    return made.job_settings["preannotations"]["token"]
