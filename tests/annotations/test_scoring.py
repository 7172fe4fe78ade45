"""Scoring annotations against gold through a real Celery worker on PostgreSQL, and in-process for the rules."""
import copy
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone
from PIL import Image

from annotations.defects import labeling_config
from annotations.models import (
    Annotation,
    BatchTask,
    GoldSource,
    Job,
    LabelStudioAccount,
    QualityScore,
    ReviewState,
    ScoreState,
    Task,
)
from annotations.quality.classes import DefectClass
from annotations.quality.compact import CompactMasks
from annotations.quality.labelstudio_json import brush_result
from annotations.quality.rubber_stamp import detect_rubber_stamp
from annotations.services import jobs, scoring
from annotations.services.gold import gold_current, gold_set, masks_of_task
from annotations.services.sync import annotation_upsert
from annotations.tasks import rescore_batch, rescore_job, score_annotation
from config.celery import app
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.conftest import worker_idle
from tests.factories import ContractorFactory, batch_held_by, contractor_in_state, job_plain
from workforce.models import Contractor, OnboardingState

S = OnboardingState
WAIT = 60


@pytest.fixture(autouse=True)
def _overlays_removed() -> Iterator[None]:
    """The overlays scoring writes under VAR_DIR/overlays/ (the worker's VAR_DIR too) go with the test."""
    folder = settings.VAR_DIR / scoring.OVERLAY_DIR
    before = set(folder.glob("*.jpg"))
    yield
    for path in set(folder.glob("*.jpg")) - before:
        path.unlink(missing_ok=True)


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    """The five-photo sample job in batches of one photo, each with one hidden gold task."""
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=1)
    jobs.batches_cut(job=job)
    return job


def _gold_bts(job: Job) -> list[BatchTask]:
    return list(BatchTask.objects.filter(batch__job=job, is_gold=True).select_related("task", "batch")
                .order_by("id"))


def _annotate(bt: BatchTask, result: list, *, contractor: Contractor | None = None) -> Annotation:
    return Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                     contractor=contractor, result=result, review_state=ReviewState.SCORING,
                                     ls_created_at=timezone.now(), lead_time=60.0)


def _broken(result: list) -> list:
    broken = copy.deepcopy(result)
    broken[0]["value"]["rle"] = broken[0]["value"]["rle"][:7]
    return broken


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.2)


# --- through the worker ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_worker_scores_gold_as_perfect_and_the_prediction_lower_once_each(job: Job, celery_worker: str) -> None:
    bt = _gold_bts(job)[0]
    exact = _annotate(bt, bt.task.gold_result)
    model = _annotate(bt, bt.task.prediction["result"])

    first = QualityScore.objects.get(pk=score_annotation.delay(exact.pk).get(timeout=WAIT))
    assert (first.state, first.overall_iou, first.macro_iou, first.macro_dice) == (ScoreState.SCORED, 1.0, 1.0, 1.0)
    assert first.instance_f1 == 1.0
    assert first.gold == gold_current(bt.task)
    drawn = {label: c["iou"] for label, c in first.per_class.items() if c["iou"] is not None}
    assert drawn
    assert set(drawn.values()) == {1.0}
    with Image.open(settings.VAR_DIR / first.overlay_path) as overlay:
        assert overlay.format == "JPEG"
        assert overlay.size == (bt.task.width, bt.task.height)
    exact.refresh_from_db()
    assert exact.review_state == ReviewState.PENDING  # scored, and on to a reviewer

    worse = QualityScore.objects.get(pk=score_annotation.delay(model.pk).get(timeout=WAIT))
    assert 0 < worse.macro_iou < 1
    assert min(c["iou"] for c in worse.per_class.values() if c["iou"] is not None) < 1

    assert score_annotation.delay(exact.pk).get(timeout=WAIT) == first.pk
    assert QualityScore.objects.filter(annotation=exact).count() == 1
    first.refresh_from_db()
    assert first.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_gold_version_rescores_what_the_old_one_scored_and_keeps_the_old_score(
    job: Job, celery_worker: str,
) -> None:
    bt = _gold_bts(job)[0]
    annotation = _annotate(bt, bt.task.prediction["result"])
    old = QualityScore.objects.get(pk=score_annotation.delay(annotation.pk).get(timeout=WAIT))
    assert old.macro_iou < 1

    gold_set(task=bt.task, result=bt.task.prediction["result"], source=GoldSource.IMPORT)  # commits: queued

    _wait_for(lambda: QualityScore.objects.filter(annotation=annotation, gold__version=2).exists(), "the re-score")
    new = QualityScore.objects.get(annotation=annotation, gold__version=2)
    assert new.macro_iou == 1.0
    assert QualityScore.objects.get(pk=old.pk).gold.version == 1
    assert Path(new.overlay_path).name == f"{annotation.pk}-g2.jpg"


@pytest.mark.django_db(transaction=True)
def test_a_held_row_lock_fails_the_first_attempt_and_the_retry_scores_it(job: Job, celery_worker: str) -> None:
    bt = _gold_bts(job)[0]
    annotation = _annotate(bt, bt.task.gold_result)
    with transaction.atomic():
        # Another writer (a sync, a reviewer) holds the annotation: the worker's lock wait times out.
        Annotation.objects.select_for_update().get(pk=annotation.pk)
        result = score_annotation.delay(annotation.pk)
        _wait_for(lambda: result.state == "RETRY", "the first attempt to fail on the lock")
        assert not QualityScore.objects.filter(annotation=annotation).exists()
    score = QualityScore.objects.get(pk=result.get(timeout=WAIT))
    assert score.attempts >= 2
    assert score.macro_iou == 1.0


@pytest.mark.django_db(transaction=True)
def test_unreadable_masks_give_an_error_score_and_the_worker_goes_on(job: Job, celery_worker: str) -> None:
    bt = _gold_bts(job)[0]
    bad = _annotate(bt, _broken(bt.task.prediction["result"]))
    good = _annotate(bt, bt.task.prediction["result"])

    error = QualityScore.objects.get(pk=score_annotation.delay(bad.pk).get(timeout=WAIT))
    assert error.state == ScoreState.ERROR
    assert error.error.startswith("The annotation's masks cannot be read: result #0")
    assert "bad RLE" in error.error
    assert error.macro_iou is None
    assert error.attempts == 1  # bad data is not retried
    bad.refresh_from_db()
    assert bad.review_state == ReviewState.PENDING  # a reviewer sees why

    assert QualityScore.objects.get(pk=score_annotation.delay(good.pk).get(timeout=WAIT)).state == ScoreState.SCORED


@pytest.mark.django_db(transaction=True)
def test_rescoring_a_job_fans_out_over_its_gold_task_annotations(job: Job, celery_worker: str) -> None:
    gold_bts = _gold_bts(job)
    photo = gold_bts[0].task
    no_gold = Task.objects.create(job=job, key="no-gold", image_path=photo.image_path, image_sha256="0" * 64,
                                  width=photo.width, height=photo.height, prediction=photo.prediction)
    scored = [_annotate(bt, bt.task.prediction["result"]) for bt in gold_bts]
    deleted = _annotate(gold_bts[0], photo.gold_result)
    Annotation.objects.filter(pk=deleted.pk).update(deleted=True)
    _annotate(BatchTask.objects.create(batch=gold_bts[0].batch, task=no_gold), photo.prediction["result"])

    assert rescore_job.delay(job.pk).get(timeout=WAIT) == len(scored)
    _wait_for(lambda: QualityScore.objects.count() == len(scored), "every gold-task annotation to be scored")
    assert set(QualityScore.objects.values_list("annotation_id", flat=True)) == {a.pk for a in scored}
    assert rescore_batch.delay(gold_bts[0].batch_id).get(timeout=WAIT) == 1
    assert app.amqp.router.route({}, "annotations.tasks.rescore_job")["queue"].name == "scoring"
    _wait_for(lambda: worker_idle(celery_worker), "the batch's re-score (a no-op) to finish")


@pytest.mark.django_db(transaction=True)
def test_a_synced_gold_task_annotation_is_scored_once_the_sync_commits(job: Job, celery_worker: str) -> None:
    bt = _gold_bts(job)[0]
    BatchTask.objects.filter(pk=bt.pk).update(ls_task_id=700_001)
    # A bare applicant: onboarding would queue the real Label Studio account in the worker, racing this one.
    contractor = ContractorFactory()
    LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=880_001, email="ana@example.com")
    annotation = annotation_upsert(payload={"id": 990_001, "task": 700_001, "completed_by": 880_001,
                                            "result": bt.task.gold_result, "lead_time": 30.0})
    assert annotation.review_state == ReviewState.SCORING
    _wait_for(lambda: QualityScore.objects.filter(annotation=annotation).exists(), "the score of the sync")
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.PENDING


# --- in-process: the rules after a score ----------------------------------------------------------

@pytest.mark.django_db
def test_a_job_with_other_classes_than_the_demos_gets_a_score_report_listing_exactly_its_classes() -> None:
    classes = (DefectClass("dent", "Dent", "#112233"), DefectClass("smear", "Smear", "#445566"),
               DefectClass("glare", "Glare", "#778899"))
    job = job_plain(classes=classes)
    assert job.labeling_config == labeling_config(classes)
    task = Task.objects.create(job=job, key="panel-1", image_path="none.jpg", image_sha256=uuid.uuid4().hex,
                               width=8, height=8)
    dent = np.zeros((8, 8), bool)
    dent[1:4, 1:4] = True
    gold_set(task=task, result=[brush_result(dent, label="Dent", rid="gold-dent")], source=GoldSource.IMPORT)
    bt = BatchTask.objects.create(batch=batch_held_by(ContractorFactory(), job=job), task=task, is_gold=True)
    drawn = [brush_result(dent, label="Dent", rid="a-dent"), brush_result(dent.T, label="Smear", rid="a-smear")]
    score = scoring.score_annotation(annotation_id=_annotate(bt, drawn).pk)
    assert score.state == ScoreState.SCORED
    assert list(score.per_class) == ["Dent", "Smear", "Glare"]
    assert score.per_class["Dent"]["iou"] == 1.0


@pytest.mark.django_db
def test_submitting_a_wrong_pre_annotation_unchanged_is_flagged(job: Job) -> None:
    bt = _gold_bts(job)[0]
    stamped = scoring.score_annotation(annotation_id=_annotate(bt, bt.task.prediction["result"]).pk)
    assert stamped.rubber_stamp
    assert stamped.rubber_stamp_detail.startswith("Submitted the pre-annotation unchanged")
    honest = scoring.score_annotation(annotation_id=_annotate(bt, bt.task.gold_result).pk)
    assert not honest.rubber_stamp
    assert honest.rubber_stamp_detail.startswith("Not flagged")


@pytest.mark.django_db
def test_a_gold_version_is_decoded_once_for_all_the_annotations_scored_against_it(
    job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    bt = _gold_bts(job)[0]
    decoded = []
    real = scoring.packed_masks_of_task

    def counting(result: list, task: Task) -> dict:
        decoded.append(result)
        return real(result, task)

    monkeypatch.setattr(scoring, "packed_masks_of_task", counting)
    scoring._gold_masks.cache_clear()
    answers = [bt.task.prediction["result"], bt.task.gold_result, bt.task.prediction["result"][1:]]
    for result in answers:
        scoring.score_annotation(annotation_id=_annotate(bt, result).pk)
    gold_decodes = [result for result in decoded if result == bt.task.gold_result]
    assert len(gold_decodes) == 1 + 1  # the gold once, and the one annotation that equals it
    # A new gold version is a new key: decoded once more, never served from the old one.
    new_gold = bt.task.gold_result[1:]
    gold_set(task=bt.task, result=new_gold, source=GoldSource.IMPORT)
    rescored = scoring.score_annotation(annotation_id=_annotate(bt, new_gold).pk)
    assert rescored.macro_iou == 1.0
    assert sum(result == new_gold for result in decoded) == 2  # the new gold once, and that annotation


@pytest.mark.django_db
def test_the_rubber_stamp_check_on_crops_agrees_with_the_rule_on_full_masks(job: Job) -> None:
    for task in job.tasks.all():
        gold = masks_of_task(task.gold_result, task)
        prediction = masks_of_task(task.prediction["result"], task)
        compact = CompactMasks.of(gold, (task.height, task.width))
        for candidate in (prediction, {**prediction, "Pit": np.zeros((task.height, task.width), bool)}):
            full = detect_rubber_stamp(candidate=candidate, prediction=prediction, gold=gold)
            cropped = scoring._rubber_stamp(task, candidate, compact)
            assert cropped[0] == full.flagged
            assert cropped[1] == full.message or (not full.flagged and "edited the pre-annotation" in cropped[1])


@pytest.mark.django_db
def test_an_edited_annotation_is_scored_again_against_the_same_gold(job: Job) -> None:
    bt = _gold_bts(job)[0]
    annotation = _annotate(bt, bt.task.prediction["result"])
    before = scoring.score_annotation(annotation_id=annotation.pk)
    Annotation.objects.filter(pk=annotation.pk).update(result=bt.task.gold_result)
    after = scoring.score_annotation(annotation_id=annotation.pk)
    assert after.pk == before.pk
    assert after.macro_iou == 1.0 > before.macro_iou


@pytest.mark.django_db
def test_the_annotation_gold_was_promoted_from_is_not_scored_against_itself(job: Job) -> None:
    bt = _gold_bts(job)[0]
    annotation = _annotate(bt, bt.task.prediction["result"])
    gold_set(task=bt.task, result=annotation.result, source=GoldSource.PROMOTED, annotation=annotation)
    assert scoring.score_annotation(annotation_id=annotation.pk) is None


@pytest.mark.django_db
def test_a_reviewers_decision_is_not_undone_by_a_late_score(job: Job) -> None:
    bt = _gold_bts(job)[0]
    annotation = _annotate(bt, bt.task.gold_result)
    Annotation.objects.filter(pk=annotation.pk).update(review_state=ReviewState.ACCEPTED)
    scoring.score_annotation(annotation_id=annotation.pk)
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.ACCEPTED


@pytest.mark.django_db
def test_five_empty_answers_on_gold_pause_an_active_contractor_and_email_why(
    job: Job, django_capture_on_commit_callbacks: Callable,
) -> None:
    ana = contractor_in_state(S.ACTIVE)
    mail.outbox.clear()
    batch = batch_held_by(ana, job=job)
    for task in job.tasks.order_by("id"):
        bt = BatchTask.objects.create(batch=batch, task=task, is_gold=True)
        with django_capture_on_commit_callbacks(execute=True):
            scoring.score_annotation(annotation_id=_annotate(bt, [], contractor=ana).pk)
    ana.refresh_from_db()
    assert ana.state == S.PAUSED
    assert ana.state_reason.startswith("Your quality score on gold tasks is 0.00 over your last 5 scored tasks")
    assert [m.to for m in mail.outbox] == [[ana.user.email]]
    assert "weakest class is" in mail.outbox[0].body
