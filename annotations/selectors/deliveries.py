"""Reads for delivering a job: which accepted mask stands for each photo, the report's figures, the console list."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from annotations.models import Annotation, Delivery, DeliveryState, Job, PhotoAgreement, QualityScore, Review, Task
from annotations.quality.confidence import RESAMPLES, SEED, Interval, bootstrap_mean
from annotations.selectors.job_costs import job_costs
from annotations.selectors.quality import scored_on_gold, task_score
from common.errors import DomainError

CENT = Decimal("0.01")
METRICS = (("iou", "macro_iou"), ("dice", "macro_dice"), ("boundary_f1", "macro_boundary_f1"))
CI_METHOD = (f"95 % percentile bootstrap over gold photos ({RESAMPLES} resamples, seed {SEED}): the photos are "
             "drawn with replacement and every score on a drawn photo counts; a photo where neither gold nor the "
             "answer has a defect counts as 1.")


@dataclass(frozen=True)
class DeliveryPlan:
    """What a delivery of the job would hold now."""

    items: list[tuple[int, int, bool]]  # (task id, accepted annotation id, its annotators' merged mask?), by task
    missing: list[str]  # keys of the photos without an accepted mask, in task order


def accepted_annotations(job: Job) -> QuerySet[Annotation]:
    """Per photo of the job, its latest live accepted annotation on the photo's own (non-gold) batch task: the mask
    that is delivered. Answers on the photo as someone else's hidden gold are checks of them, not the deliverable."""
    latest_first = [F("ls_created_at").desc(nulls_last=True), F("id").desc()]
    return (Annotation.objects.filter(batch_task__batch__job=job, batch_task__is_gold=False, deleted=False,
                                      was_cancelled=False, review_state="accepted")
            .annotate(per_task=Window(RowNumber(), partition_by=[F("batch_task__task_id")], order_by=latest_first))
            .filter(per_task=1))


def delivery_plan(job: Job) -> DeliveryPlan:
    """Per photo the accepted mask delivered: its latest accepted annotation, or its annotators' merged mask when a
    reviewer accepted that (every one of them is accepted then)."""
    chosen = dict(accepted_annotations(job).values_list("batch_task__task_id", "id"))
    merged = set(PhotoAgreement.objects.filter(task__job=job, merged_accepted_at__isnull=False)
                 .values_list("task_id", flat=True))
    items, missing = [], []
    for task_id, key in job.tasks.order_by("id").values_list("id", "key"):
        if task_id in chosen:
            items.append((task_id, chosen[task_id], task_id in merged))
        else:
            missing.append(key)
    return DeliveryPlan(items=items, missing=missing)


def delivery_items(delivery: Delivery) -> list[tuple[int, int, bool]]:
    """The delivery's (task id, annotation id, merged) in order; deliveries made before merging hold pairs."""
    return [(item[0], item[1], bool(item[2]) if len(item) > 2 else False) for item in delivery.items]


def agreement_summary(task_ids: list[int]) -> dict | None:
    """The agreement between annotators over the delivered photos that had several: photos, mean IoU / Dice /
    defect F1 over them and per class, and how many carry the merged mask; None when no photo had several."""
    found = list(PhotoAgreement.objects.filter(task_id__in=task_ids))
    if not found:
        return None

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return round(sum(present) / len(present), 4) if present else None

    keys = sorted({key for a in found for key in a.per_class})
    return {"photos": len(found), "merged": sum(1 for a in found if a.merged_accepted_at),
            "iou": mean([a.iou for a in found]), "dice": mean([a.dice for a in found]),
            "instance_f1": mean([a.instance_f1 for a in found]),
            "per_class": {key: {metric: mean([a.per_class[key].get(metric) for a in found if key in a.per_class])
                                for metric in ("iou", "dice", "instance_f1")} for key in keys}}


# --- the report --------------------------------------------------------------------------

def _interval(clusters: dict[int, list[float]]) -> dict | None:
    found: Interval | None = bootstrap_mean(list(clusters.values()))
    if found is None:
        return None
    return {"mean": round(found.mean, 4), "low": round(found.low, 4), "high": round(found.high, 4),
            "scores": found.n, "photos": found.clusters}


def gold_quality(*, job: Job, contractor_ids: list[int]) -> dict:
    """Per class and overall, the mean IoU, Dice and boundary F1 (each with its interval) of these contractors'
    scores on the job's hidden gold: one score per contractor and gold photo, as their quality rollup counts."""
    scores = (QualityScore.objects.filter(pk__in=scored_on_gold(contractor_ids).values("pk"),
                                          annotation__batch_task__batch__job=job, annotation__batch_task__is_gold=True)
              .values_list("annotation__batch_task__task_id", "macro_iou", "macro_dice", "macro_boundary_f1",
                           "per_class"))
    overall: dict[str, dict[int, list[float]]] = {name: defaultdict(list) for name, _ in METRICS}
    per_class: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(
        lambda: {name: defaultdict(list) for name, _ in METRICS})
    for task_id, iou, dice, bf1, classes in scores:
        for (name, _), value in zip(METRICS, (iou, dice, bf1), strict=True):
            overall[name][task_id].append(task_score(value))
        for label, report in (classes or {}).items():
            for name, _ in METRICS:
                if report.get(name) is not None:
                    per_class[label][name][task_id].append(report[name])
    labels = [label for label in job.labels if label in per_class] + sorted(set(per_class) - set(job.labels))
    return {
        "method": CI_METHOD,
        "contractors": len(contractor_ids),
        "overall": {name: _interval(overall[name]) for name, _ in METRICS},
        "per_class": {label: {name: _interval(per_class[label][name]) for name, _ in METRICS} for label in labels},
    }


def review_counts(job: Job) -> dict:
    """Photos of the job (on their own batch task) that were reviewed, sent back for rework at least once, and that
    have an accepted mask now."""
    own = {"annotation__batch_task__batch__job": job, "annotation__batch_task__is_gold": False}
    reviewed = Review.objects.filter(**own).values("annotation__batch_task__task_id").distinct().count()
    reworked = (Review.objects.filter(decision="rework", **own)
                .values("annotation__batch_task__task_id").distinct().count())
    return {"photos": job.tasks.count(), "reviewed": reviewed, "reworked": reworked,
            "accepted": accepted_annotations(job).count()}


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def cost_of(job: Job) -> dict:
    """Hours and cost of the job's paid time, rounded half-up to cents here, where they leave for the report."""
    paid = job_costs(job)
    return {"work_hours": _money(Decimal(paid.work_minutes) / 60), "work_minutes": paid.work_minutes,
            "work_cost": _money(paid.work_cost), "adjustment_minutes": paid.adjustment_minutes,
            "adjustment_cost": _money(paid.adjustment_cost), "cost": _money(paid.cost), "currency": paid.currency}


# --- pages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobDeliveries:
    """The console job page's delivery card."""

    deliveries: list[Delivery]
    photos: int
    accepted: int
    busy: bool  # a delivery is queued or being written: the page polls its progress


def job_deliveries(job: Job) -> JobDeliveries:
    """The job's deliveries and how many of its photos a delivery would hold now: from the stored progress row of a
    job_with_progress job (its photos left are those without an accepted mask), else counted."""
    deliveries = list(Delivery.objects.filter(job=job).defer("report", "items").order_by("-number"))
    if hasattr(job, "n_left"):
        photos, accepted = job.n_tasks, job.n_tasks - job.n_left
    else:
        photos, accepted = Task.objects.filter(job=job).count(), accepted_annotations(job).count()
    return JobDeliveries(
        deliveries=deliveries, photos=photos, accepted=accepted,
        busy=any(d.state in (DeliveryState.QUEUED, DeliveryState.RUNNING) for d in deliveries))


def delivery_progress(job: Job) -> list[dict]:
    """State and counters of the job's deliveries, for the job page's polling."""
    return [{"number": d["number"], "state": d["state"], "written": d["photos_written"], "total": d["photos_total"]}
            for d in Delivery.objects.filter(job=job).order_by("-number")
            .values("number", "state", "photos_written", "photos_total")]


def delivery_file(delivery: Delivery) -> Path | None:
    """The finished delivery's ZIP on disk, None when it has none (or its path leaves VAR_DIR)."""
    if delivery.state != DeliveryState.DONE or not delivery.zip_path:
        return None
    path = (settings.VAR_DIR / delivery.zip_path).resolve()
    if not path.is_relative_to(settings.VAR_DIR.resolve()) or not path.is_file():
        return None
    return path


# --- the client's link ----------------------------------------------------------------------

LINK_SALT = "annotations.delivery-link"


class LinkInvalid(DomainError):
    status = 404


class LinkExpired(DomainError):
    status = 410


def delivery_link_token(delivery: Delivery) -> str:
    """A token naming the delivery, signed with SECRET_KEY and dated now: it opens the delivery without login for
    DELIVERY_LINK_DAYS days."""
    return TimestampSigner(salt=LINK_SALT).sign(str(delivery.pk))


def delivery_by_token(token: str) -> Delivery:
    """The finished delivery a link names; LinkExpired (410) past its days, LinkInvalid (404) when it was altered
    or names no finished delivery."""
    try:
        pk = TimestampSigner(salt=LINK_SALT).unsign(token, max_age=timedelta(days=settings.DELIVERY_LINK_DAYS))
    except SignatureExpired:
        raise LinkExpired(f"This delivery link has expired (links work for {settings.DELIVERY_LINK_DAYS} days). "
                          "Ask your LabelCrew contact for a new one.") from None
    except BadSignature:
        raise LinkInvalid("This is not a valid delivery link: check that it was copied whole.") from None
    delivery = Delivery.objects.select_related("job").filter(pk=int(pk), state=DeliveryState.DONE).first()
    if delivery is None:
        raise LinkInvalid("This delivery is not available.")
    return delivery
