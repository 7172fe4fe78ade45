"""What the job page's imports partial (annotations/_imports.html) reads, so the page's view needs no change."""
from django import template

from annotations.forms import PreannotationUploadForm
from annotations.models import ImportRun, Job
from annotations.selectors.imports import import_runs_recent

register = template.Library()


@register.simple_tag
def job_import_runs(job: Job) -> list[ImportRun]:
    return list(import_runs_recent(job=job))


@register.simple_tag
def preannotation_upload_form() -> PreannotationUploadForm:
    return PreannotationUploadForm()
