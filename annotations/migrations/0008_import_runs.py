"""Import runs (a client's photos, pre-annotations and gold), the prediction each published task holds, COCO gold."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0007_batch_life"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="goldversion",
            name="source",
            field=models.CharField(
                choices=[
                    ("sample", "Sample job"),
                    ("promoted", "Promoted by a reviewer"),
                    ("import", "Imported from Label Studio"),
                    ("import_png", "Imported from PNG masks"),
                    ("import_coco", "Imported from COCO"),
                ],
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="ImportRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("predictions", "Pre-annotations (the model's)"),
                            ("gold", "Gold"),
                            ("photos", "Photos of a new job"),
                        ],
                        default="predictions",
                        max_length=16,
                    ),
                ),
                (
                    "format",
                    models.CharField(
                        choices=[
                            ("labelstudio", "Label Studio JSON export"),
                            ("coco", "COCO instance segmentation JSON"),
                            ("png_zip", "ZIP of PNG masks"),
                        ],
                        max_length=16,
                    ),
                ),
                ("file_name", models.CharField(max_length=255)),
                (
                    "upload_path",
                    models.CharField(
                        help_text="The uploaded file, relative to VAR_DIR.",
                        max_length=500,
                    ),
                ),
                (
                    "category_map",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="COCO category id -> class key or ignore.",
                    ),
                ),
                (
                    "job_settings",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="A new job's: job_create's settings and the pre-annotation upload to import into it.",
                    ),
                ),
                (
                    "publish_when_done",
                    models.BooleanField(
                        default=False,
                        help_text="Publish the job's batches once it is done.",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed (nothing changed)"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("photos_total", models.PositiveIntegerField(default=0)),
                ("photos_checked", models.PositiveIntegerField(default=0)),
                ("masks_total", models.PositiveIntegerField(default=0)),
                ("masks_decoded", models.PositiveIntegerField(default=0)),
                (
                    "tasks_total",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Tasks whose prediction or gold is written.",
                    ),
                ),
                (
                    "tasks_published",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Of those, written (and sent to Label Studio).",
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "job",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="import_runs",
                        to="annotations.job",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="PredictionSent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("digest", models.CharField(max_length=64)),
                ("sent_at", models.DateTimeField(auto_now=True)),
                (
                    "batch_task",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prediction_sent",
                        to="annotations.batchtask",
                    ),
                ),
            ],
        ),
    ]
