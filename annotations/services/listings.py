"""A job's public listing: open or closed for applications, its guidelines' languages, and the gold photos staff
make public so that the listing can show close-ups of them (the rate and cap are the job's pay terms, in payroll)."""
import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.models import BatchTask, Job, Task
from common.errors import DomainError
from workforce.models import User
from workforce.validation import validate_languages

logger = logging.getLogger(__name__)


def guideline_languages_checked(codes: list[str]) -> list[str]:
    """The codes without blanks and repeats, in their order; DomainError on guideline_languages when one is unknown
    or none is left."""
    languages = list(dict.fromkeys(str(code).strip() for code in codes if str(code).strip()))
    try:
        validate_languages(languages)
    except ValidationError as exc:
        raise DomainError(f"guideline_languages: {' '.join(exc.messages)}", field="guideline_languages") from None
    return languages


@transaction.atomic
def job_listing_update(*, job: Job, listed: bool, guideline_languages: list[str], actor: User | None) -> Job:
    """Open or close the job for applications and say which languages its guidelines are in."""
    languages = guideline_languages_checked(guideline_languages)
    job = Job.objects.select_for_update().get(pk=job.pk)
    job.listed, job.guideline_languages = listed, languages
    job.save(update_fields=["listed", "guideline_languages"])
    logger.info("job %s listing: listed=%s, guidelines in %s (by %s)", job.pk, listed, languages,
                getattr(actor, "pk", None))
    return job


@transaction.atomic
def job_examples_publish(*, job: Job, task_keys: list[str], actor: User | None) -> list[Task]:
    """Make these gold photos of the job public examples: the listing cuts its close-ups from them, and from then on
    they are never hidden gold in a batch or a qualification round.

    A photo already handed out as hidden gold is refused: a close-up of it would tell whoever holds, or held, that
    batch which of its photos is the gold one. Making a photo public is for good (it has been seen); publishing
    one again is a no-op."""
    keys = list(dict.fromkeys(key.strip() for key in task_keys if key.strip()))
    if not keys:
        raise DomainError("task_keys: name at least one photo of the job.", field="task_keys")
    Job.objects.select_for_update().get(pk=job.pk)  # batches_cut draws gold under the same lock
    tasks = {task.key: task for task in Task.objects.select_for_update().filter(job=job, key__in=keys)}
    unknown = [key for key in keys if key not in tasks]
    if unknown:
        raise DomainError(f"task_keys: the job has no photo named {', '.join(unknown)}.", field="task_keys")
    without_gold = [key for key in keys if tasks[key].gold_result is None]
    if without_gold:
        raise DomainError(f"task_keys: {', '.join(without_gold)} has no gold answer to cut a close-up around.",
                          field="task_keys")
    new = [tasks[key] for key in keys if not tasks[key].public_example]
    used = sorted(BatchTask.objects.filter(task__in=new, is_gold=True).values_list("task__key", flat=True).distinct())
    if used:
        raise DomainError(f"task_keys: {', '.join(used)} was already hidden gold in a batch; choose a gold photo "
                          "no batch has used.", field="task_keys")
    Task.objects.filter(pk__in=[task.pk for task in new]).update(public_example=True)
    logger.info("job %s: %s gold photo(s) made public examples (by %s)", job.pk, len(new), getattr(actor, "pk", None))
    return [tasks[key] for key in keys]
