"""The public listings: each open job with its own pay terms, classes and guideline languages."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from annotations.models import Job
from payroll.selectors.terms import PayTerms, pay_terms_of_jobs
from workforce.validation import LANGUAGE_CODES, language_label

# The kinds of work LabelCrew runs: a job named exactly so is listed under its title in the page's language.
TRANSLATED_TITLES = frozenset({gettext_noop("Smartphone screen defect annotation")})


@dataclass(frozen=True)
class Listing:
    job: Job
    terms: PayTerms  # in force now: the job's opening terms or its latest change
    classes: list[dict]  # the job's classes, {"key", "label", "colour"}, named as Label Studio shows them
    languages: list[str]  # the guidelines' languages, each in its own name and the page's

    @property
    def title(self) -> str:
        return gettext(self.job.name) if self.job.name in TRANSLATED_TITLES else self.job.name

    @property
    def class_names(self) -> str:
        return ", ".join(c["label"] for c in self.classes)


def job_listings(jobs: Sequence[Job], *, now: datetime) -> list[Listing]:
    """One listing per job, in the given order; one query for all their pay terms."""
    terms = pay_terms_of_jobs(jobs=jobs, moment=now)
    page_language = translation.get_language() or "en"
    return [Listing(job=job, terms=terms[job.pk], classes=list(job.label_classes),
                    languages=[language_label(code, page_language=page_language)
                               for code in job.guideline_languages if code in LANGUAGE_CODES])
            for job in jobs]
