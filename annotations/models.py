"""Jobs, their tasks and batches, Label Studio mappings, synced annotations and reviews."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from workforce.models import Contractor


def guideline_languages_default() -> list[str]:
    """A job's guidelines are written in English unless staff say otherwise."""
    return ["en"]


class Job(models.Model):
    """A client's labeling job: its photos, classes and how work is cut and checked (payroll holds its pay terms)."""

    name = models.CharField(max_length=200)
    client = models.CharField(max_length=200)
    instructions = models.TextField(help_text="Markdown shown to contractors in Label Studio.")
    label_classes = models.JSONField(help_text='[{"key", "label", "colour"}, ...]')
    labeling_config = models.TextField()
    batch_size = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1), MaxValueValidator(500)])
    gold_rate = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.100"),
                                    validators=[MinValueValidator(0), MaxValueValidator(1)])
    quality_threshold = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.500"))
    annotators_per_photo = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Each photo goes to this many different contractors, each in a batch of their own.")
    max_open_batches = models.PositiveIntegerField(default=2)
    qualification_tasks = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(50)],
        help_text="Gold photos each new applicant labels to qualify on this job (0: no qualification round here).")
    start_within_hours = models.PositiveIntegerField(default=24)
    deadline_hours = models.PositiveIntegerField(default=72)
    image_source = models.CharField(max_length=500, help_text="Folder or manifest the photos came from.")
    # The public listing (portal's /jobs/): its rate and cap are the job's pay terms, which payroll holds.
    listed = models.BooleanField(default=False, help_text="Open for applications: shown on the public job list.")
    guideline_languages = models.JSONField(default=guideline_languages_default,
                                           help_text="Language codes the job's guidelines are written in.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Staff roles (common.roles): operations run jobs end to end, reviewers judge the work.
        permissions = [
            ("operate_jobs", "Run jobs, batches, assignment, imports, publishing and deliveries"),
            ("review_work", "Review annotations, gold and the quality boards"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def labels(self) -> list[str]:
        """The labels of the job's classes, in their order: what its score reports list."""
        return [c["label"] for c in self.label_classes]


class Task(models.Model):
    """One photo of a job with its model pre-annotation and, once reviewed, its gold answer."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tasks")
    key = models.CharField(max_length=200)
    image_path = models.CharField(max_length=500, help_text="Relative to VAR_DIR (Label Studio serves it).")
    image_sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    prediction = models.JSONField(null=True, blank=True)
    gold_result = models.JSONField(null=True, blank=True)
    # A gold photo staff made public: the listing's close-ups are cut from it, so it is never hidden gold again.
    public_example = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="task_key_unique_per_job"),
            models.UniqueConstraint(fields=["job", "image_sha256"], name="task_image_unique_per_job"),
        ]
        ordering = ["job", "id"]

    def __str__(self) -> str:
        return self.key


class BatchState(models.TextChoices):
    OPEN = "open", pgettext_lazy("batch state", "Open")
    ASSIGNED = "assigned", pgettext_lazy("batch state", "Assigned")
    IN_PROGRESS = "in_progress", pgettext_lazy("batch state", "In progress")
    HANDED_IN = "handed_in", pgettext_lazy("batch state", "Handed in")
    IN_REVIEW = "in_review", pgettext_lazy("batch state", "In review")
    REWORK = "rework", pgettext_lazy("batch state", "Rework")
    DONE = "done", pgettext_lazy("batch state", "Done")


class BatchKind(models.TextChoices):
    WORK = "work", _("Work")
    QUALIFICATION = "qualification", _("Qualification round")


class Batch(models.Model):
    """A slice of a job's tasks, plus hidden gold, published as its own Label Studio project.

    A qualification batch is made for one applicant and holds only gold photos: it is never offered
    to anyone else, reclaimed or auto-assigned, and closes when the applicant is decided on."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=BatchKind.choices, default=BatchKind.WORK)
    state = models.CharField(max_length=16, choices=BatchState.choices, default=BatchState.OPEN)
    ls_project_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    published_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(Contractor, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="batches")
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="batch_number_unique_per_job"),
            models.UniqueConstraint(fields=["assigned_to"], condition=models.Q(kind="qualification"),
                                    name="one_qualification_batch_per_contractor"),
        ]
        indexes = [models.Index(fields=["state", "assigned_to"])]
        ordering = ["job", "number"]

    def __str__(self) -> str:
        return f"{self.job} #{self.number}"


class BatchTask(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="batch_tasks")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="batch_tasks")
    is_gold = models.BooleanField(default=False)  # hidden: looks like any other task in Label Studio
    ls_task_id = models.PositiveIntegerField(null=True, blank=True, unique=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "task"], name="task_once_per_batch")]

    def __str__(self) -> str:
        return f"{self.batch} / {self.task}"


class LabelStudioAccount(models.Model):
    """The contractor's user in Label Studio; its password is kept only encrypted."""

    contractor = models.OneToOneField(Contractor, on_delete=models.CASCADE, related_name="label_studio_account")
    ls_user_id = models.PositiveIntegerField(unique=True)
    email = models.EmailField()
    # Fernet-encrypted (common.secrets_box); empty when the user existed before LabelCrew made it.
    sealed_password = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} (#{self.ls_user_id})"


class BatchTransition(models.Model):
    """Audit row of one change of a batch's state, written only by annotations/batch_life.py."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=BatchState.choices)
    to_state = models.CharField(max_length=16, choices=BatchState.choices)
    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   help_text="Who held the batch when it changed.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["batch", "created_at"])]

    def __str__(self) -> str:
        return f"{self.batch}: {self.from_state} -> {self.to_state}"


class AssignmentAction(models.TextChoices):
    ASSIGN = "assign", "Assigned"
    REASSIGN = "reassign", "Reassigned"
    RECLAIM = "reclaim", "Reclaimed"


class AssignmentEvent(models.Model):
    """Audit trail of who got which batch, who decided, and why."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="assignment_events")
    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=AssignmentAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.batch} -> {self.contractor_id}"


class ReviewState(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    SCORING = "scoring", "Queued for scoring (gold task)"
    ACCEPTED = "accepted", "Accepted"
    REWORK = "rework", "Sent back for rework"


class Annotation(models.Model):
    """A Label Studio annotation, upserted by its Label Studio id from the webhook or the poll."""

    ls_annotation_id = models.PositiveIntegerField(unique=True)
    batch_task = models.ForeignKey(BatchTask, on_delete=models.PROTECT, related_name="annotations")
    contractor = models.ForeignKey(Contractor, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="annotations")
    ls_user_id = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=list)
    lead_time = models.FloatField(null=True, blank=True, help_text="Seconds Label Studio measured.")
    was_cancelled = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    unassigned_work = models.BooleanField(default=False, help_text="Made by someone who did not hold the batch.")
    problems = models.JSONField(default=list, blank=True, help_text="What was wrong with the synced data.")
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.PENDING)
    ls_created_at = models.DateTimeField(null=True, blank=True)
    ls_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["review_state"]), models.Index(fields=["contractor", "ls_created_at"]),
            # The review queue, oldest or newest first: the live annotations waiting, in the order it pages them.
            models.Index(fields=["ls_created_at", "id"], name="annotation_review_queue",
                         condition=models.Q(review_state="pending", deleted=False, was_cancelled=False)),
            # A contractor's latest measured annotations, newest first, lead time included: the sample of their
            # pace (selectors/capacity.py's MedianLeadTime) read from the index alone, without a sort.
            models.Index(models.F("contractor"), models.F("ls_created_at").desc(nulls_last=True),
                         models.F("id").desc(), name="annotation_pace_sample", include=["lead_time"],
                         condition=models.Q(deleted=False, lead_time__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"annotation {self.ls_annotation_id}"


class Review(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=[("accept", "Accept"), ("rework", "Rework"),
                                                        ("promote", "Promote to gold")])
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.decision} of {self.annotation}"


class SyncState(models.Model):
    """One row: how the catch-up poll of Label Studio went, for the console."""

    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return "failing" if self.failing else "ok"


# --- gold and quality scores ---------------------------------------------------------

class GoldSource(models.TextChoices):
    SAMPLE = "sample", "Sample job"
    PROMOTED = "promoted", "Promoted by a reviewer"
    IMPORT = "import", "Imported from Label Studio"
    IMPORT_PNG = "import_png", "Imported from PNG masks"
    IMPORT_COCO = "import_coco", "Imported from COCO"


class GoldVersion(models.Model):
    """One version of a task's gold answer; the highest version is the current one. Never edited:
    a change of gold is a new version, so every score names the exact gold it was measured against."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="gold_versions")
    version = models.PositiveIntegerField()
    result = models.JSONField(help_text="Label Studio brush results.")
    source = models.CharField(max_length=16, choices=GoldSource.choices)
    source_annotation = models.ForeignKey(Annotation, on_delete=models.SET_NULL, null=True, blank=True,
                                          related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "version"], name="gold_version_unique_per_task")]
        ordering = ["task", "-version"]

    def __str__(self) -> str:
        return f"{self.task} gold v{self.version}"


class ScoreState(models.TextChoices):
    SCORED = "scored", "Scored"
    ERROR = "error", "Could not be scored"


class AnnotationEdits(models.Model):
    """What an annotation changed against its photo's pre-annotation (quality/agreement.py's edit evidence), on
    every photo with a pre-annotation, gold or not: the rubber stamps on the photos without gold."""

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="edits")
    unchanged = models.BooleanField(help_text="No pixel of any class differs from the pre-annotation.")
    per_class = models.JSONField(default=dict, help_text="class key -> pixels and defects added and removed.")
    pixels_added = models.PositiveIntegerField(default=0)
    pixels_removed = models.PositiveIntegerField(default=0)
    # What was compared: a changed annotation or prediction is compared again.
    digest = models.CharField(max_length=64)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["unchanged"], name="edits_unchanged")]

    def __str__(self) -> str:
        return f"edits of annotation {self.annotation_id}: {'unchanged' if self.unchanged else 'edited'}"


class PhotoAgreement(models.Model):
    """How the annotators of one photo of a job with several annotators per photo agree (quality/agreement.py):
    per class and overall, over each one's latest submission; computed again when one of them changes."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="agreement")
    annotation_ids = models.JSONField(default=list, help_text="The submissions compared, one per annotator.")
    per_class = models.JSONField(default=dict, help_text="class key -> iou, dice, instance_f1, pairs.")
    iou = models.FloatField(null=True, blank=True, help_text="Mean over classes of the mean pairwise IoU.")
    dice = models.FloatField(null=True, blank=True)
    instance_f1 = models.FloatField(null=True, blank=True)
    merged_result = models.JSONField(default=list, help_text="The per-pixel majority of the masks, as brush results.")
    merged_ranking = models.JSONField(default=list, help_text="Contractor ids best first: the first breaks ties.")
    merged_accepted_at = models.DateTimeField(null=True, blank=True, help_text="The merged mask is delivered.")
    merged_accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+")
    digest = models.CharField(max_length=64)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["iou"], name="agreement_iou")]

    def __str__(self) -> str:
        return f"agreement on task {self.task_id}: {self.iou}"

    @property
    def weakest(self) -> str:
        """The class the annotators agree on least (by mean IoU), "" when none has a value."""
        scored = [(c["iou"], key) for key, c in self.per_class.items() if c.get("iou") is not None]
        return min(scored)[1] if scored else ""


class QualityScore(models.Model):
    """An annotation measured against one gold version: per-class metrics, rubber-stamp check, overlay."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="quality_scores")
    gold = models.ForeignKey(GoldVersion, on_delete=models.CASCADE, related_name="scores")
    state = models.CharField(max_length=16, choices=ScoreState.choices)
    error = models.TextField(blank=True, help_text="Why the annotation could not be scored, for the reviewer.")
    overall_iou = models.FloatField(null=True, blank=True, help_text="Class-agnostic IoU of all defect pixels.")
    macro_iou = models.FloatField(null=True, blank=True, help_text="Mean IoU over classes present in either mask.")
    macro_dice = models.FloatField(null=True, blank=True)
    macro_boundary_f1 = models.FloatField(null=True, blank=True)
    instance_f1 = models.FloatField(null=True, blank=True, help_text="Defects matched one to one, all classes.")
    per_class = models.JSONField(default=dict, blank=True, help_text="label -> score_masks' class report.")
    rubber_stamp = models.BooleanField(default=False, help_text="Submitted a wrong pre-annotation unchanged.")
    rubber_stamp_detail = models.TextField(blank=True)
    overlay_path = models.CharField(max_length=500, blank=True, help_text="JPEG relative to VAR_DIR.")
    # The annotation's result this score measured: a changed annotation is scored again.
    result_digest = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=1, help_text="Celery attempts the score took.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["annotation", "gold"], name="one_score_per_annotation_gold")]
        ordering = ["-scored_at", "-id"]

    def __str__(self) -> str:
        return f"{self.annotation} vs {self.gold}: {self.state}"


class ContractorQualityRollup(models.Model):
    """A contractor's rolling quality on gold (selectors/quality.py's quality_rollups), stored so the boards can
    sort and page it in SQL. Written only by services/quality_rollups.py, after every change to the scores it is
    made of; `manage.py quality_rollups_rebuild` recomputes every row. A contractor without a row has no score."""

    contractor = models.OneToOneField(Contractor, on_delete=models.CASCADE, primary_key=True,
                                      related_name="quality_rollup")
    score = models.FloatField(null=True, blank=True, help_text="Mean task score over the window; null before the "
                                                               "first scored gold task.")
    n = models.PositiveIntegerField(default=0, help_text="Scored gold tasks in the window.")
    per_class = models.JSONField(default=dict, blank=True, help_text="label -> mean IoU over the window.")
    weakest_class = models.TextField(blank=True, help_text="The label with the lowest mean IoU, \"\" when none.")
    rubber_stamps = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["score"], name="quality_rollup_score")]

    def __str__(self) -> str:
        return f"{self.contractor_id}: {self.score} over {self.n}"


class JobProgress(models.Model):
    """A job's progress counts (selectors/jobs.py's job_progress_live), stored so the job list and the job page read
    one row instead of counting over the job's annotations. Written only by services/job_progress.py, once per
    transaction that changes them (annotations synced, reviews, batch moves, gold, tasks, scores);
    `manage.py job_progress_rebuild` recomputes every row. A job without a row is counted live."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, primary_key=True, related_name="progress")
    n_tasks = models.PositiveIntegerField(default=0)
    n_gold = models.PositiveIntegerField(default=0)
    n_batches = models.PositiveIntegerField(default=0)
    n_published = models.PositiveIntegerField(default=0)
    n_annotated = models.PositiveIntegerField(default=0)
    n_handed_in = models.PositiveIntegerField(default=0)
    n_reviewed = models.PositiveIntegerField(default=0)
    n_accepted = models.PositiveIntegerField(default=0)
    n_scored = models.PositiveIntegerField(default=0)
    n_scorable = models.PositiveIntegerField(default=0)
    n_left = models.PositiveIntegerField(default=0, help_text="Photos without accepted work (the forecast's).")
    seconds_per_photo = models.FloatField(
        null=True, blank=True, help_text="Median lead time of the job's latest submitted annotations (the forecast's "
                                         "speed); empty until one has a lead time.")
    photos_per_day = models.JSONField(
        default=dict, blank=True, help_text="Annotations submitted per UTC day (ISO date: count) of the last days "
                                            "kept, as of the last refresh (the job page's chart).")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"job {self.job_id}: {self.n_annotated} of {self.n_tasks} annotated"


# --- delivery to the client ----------------------------------------------------------

class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Writing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One delivery of a job's accepted masks to its client: a ZIP written once and never changed.

    More work after a delivery is a new delivery with the next number and its own file; only the worker
    writing it (annotations/services/delivery.py) changes its row, and not once it is done."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="deliveries")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    partial = models.BooleanField(default=False, help_text="Delivered without every photo having an accepted mask.")
    missing_keys = models.JSONField(default=list, blank=True, help_text="Photos left out of a partial delivery.")
    items = models.JSONField(default=list, blank=True,
                             help_text="[task id, annotation id, merged?] of each photo delivered (older deliveries: "
                                       "the first two), fixed when it is started.")
    photos_total = models.PositiveIntegerField(default=0)
    photos_written = models.PositiveIntegerField(default=0)
    zip_path = models.CharField(max_length=500, blank=True, help_text="Relative to VAR_DIR.")
    zip_size = models.PositiveBigIntegerField(null=True, blank=True)
    zip_sha256 = models.CharField(max_length=64, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="delivery_number_unique_per_job")]
        ordering = ["job", "-number"]

    def __str__(self) -> str:
        return f"{self.job} delivery {self.number}"


# --- client data in ------------------------------------------------------------------

class ImportKind(models.TextChoices):
    PREDICTIONS = "predictions", "Pre-annotations (the model's)"
    GOLD = "gold", "Gold"
    PHOTOS = "photos", "Photos of a new job"


class ImportFormat(models.TextChoices):
    LABEL_STUDIO = "labelstudio", "Label Studio JSON export"
    COCO = "coco", "COCO instance segmentation JSON"
    PNG_ZIP = "png_zip", "ZIP of PNG masks"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (nothing changed)"


class ImportRun(models.Model):
    """One import of a client's pre-annotations or gold into a job, or of a ZIP of photos as a new job (no job until
    it is made), run by Celery; its counters are its progress."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="import_runs")
    kind = models.CharField(max_length=16, choices=ImportKind.choices, default=ImportKind.PREDICTIONS)
    format = models.CharField(max_length=16, choices=ImportFormat.choices)
    file_name = models.CharField(max_length=255)
    upload_path = models.CharField(max_length=500, help_text="The uploaded file, relative to VAR_DIR.")
    category_map = models.JSONField(default=dict, blank=True, help_text="COCO category id -> class key or ignore.")
    job_settings = models.JSONField(default=dict, blank=True, help_text="A new job's: job_create's settings and "
                                    "the pre-annotation upload to import into it.")
    publish_when_done = models.BooleanField(default=False, help_text="Publish the job's batches once it is done.")
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.QUEUED)
    photos_total = models.PositiveIntegerField(default=0)
    photos_checked = models.PositiveIntegerField(default=0)
    masks_total = models.PositiveIntegerField(default=0)
    masks_decoded = models.PositiveIntegerField(default=0)
    tasks_total = models.PositiveIntegerField(default=0, help_text="Tasks whose prediction or gold is written.")
    tasks_published = models.PositiveIntegerField(default=0, help_text="Of those, written (and sent to Label Studio).")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.file_name} into {self.job or 'a new job'}: {self.state}"


class PredictionSent(models.Model):
    """The digest of the prediction last added to a published task in Label Studio, so the same one is never
    added twice (a task published with Task.prediction has none until an import sends another)."""

    batch_task = models.OneToOneField(BatchTask, on_delete=models.CASCADE, related_name="prediction_sent")
    digest = models.CharField(max_length=64)
    sent_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.batch_task}: {self.digest[:12]}"
