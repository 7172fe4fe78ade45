"""What the job page's imports partial (annotations/_imports.html) reads, so the page's view needs no change."""
from django import template

from annotations.forms import PreannotationUploadForm
from annotations.models import ImportRun, Job
from annotations.selectors.imports import coco_awaited, import_runs_recent

register = template.Library()


@register.simple_tag
def job_import_runs(job: Job) -> list[ImportRun]:
    return list(import_runs_recent(job=job))


@register.simple_tag
def preannotation_upload_form() -> PreannotationUploadForm:
    return PreannotationUploadForm()


@register.simple_tag
def job_coco_awaited(job: Job) -> bool:
    return bool(coco_awaited(job))
