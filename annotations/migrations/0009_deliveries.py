"""Deliveries of a job's accepted masks to its client."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0008_import_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Delivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("state", models.CharField(choices=[("queued", "Queued"), ("running", "Writing"), ("done", "Done"),
                                                    ("failed", "Failed")], default="queued", max_length=16)),
                ("partial", models.BooleanField(
                    default=False, help_text="Delivered without every photo having an accepted mask.")),
                ("missing_keys", models.JSONField(blank=True, default=list,
                                                  help_text="Photos left out of a partial delivery.")),
                ("items", models.JSONField(
                    blank=True, default=list,
                    help_text="[task id, annotation id] of each photo delivered, fixed when it is started.")),
                ("photos_total", models.PositiveIntegerField(default=0)),
                ("photos_written", models.PositiveIntegerField(default=0)),
                ("zip_path", models.CharField(blank=True, help_text="Relative to VAR_DIR.", max_length=500)),
                ("zip_size", models.PositiveBigIntegerField(blank=True, null=True)),
                ("zip_sha256", models.CharField(blank=True, max_length=64)),
                ("report", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("created_by", models.ForeignKey(null=True, blank=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
                ("job", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="deliveries",
                                          to="annotations.job")),
            ],
            options={
                "ordering": ["job", "-number"],
                "constraints": [models.UniqueConstraint(fields=("job", "number"),
                                                        name="delivery_number_unique_per_job")],
            },
        ),
    ]
