"""A batch's life as one state machine: handed in, in review and rework replace "submitted"; each change audited."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATES = [("open", "Open"), ("assigned", "Assigned"), ("in_progress", "In progress"), ("handed_in", "Handed in"),
          ("in_review", "In review"), ("rework", "Rework"), ("done", "Done")]


def submitted_to_handed_in(apps, schema_editor):
    apps.get_model("annotations", "Batch").objects.filter(state="submitted").update(state="handed_in")


def handed_in_to_submitted(apps, schema_editor):
    Batch = apps.get_model("annotations", "Batch")
    Batch.objects.filter(state__in=["handed_in", "in_review"]).update(state="submitted")
    Batch.objects.filter(state="rework").update(state="in_progress")


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0006_job_pay_terms_to_payroll"),
        ("workforce", "0003_site_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="batch", name="state",
            field=models.CharField(choices=STATES, default="open", max_length=16),
        ),
        migrations.RunPython(submitted_to_handed_in, handed_in_to_submitted),
        migrations.CreateModel(
            name="BatchTransition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("from_state", models.CharField(choices=STATES, max_length=16)),
                ("to_state", models.CharField(choices=STATES, max_length=16)),
                ("reason", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="+", to=settings.AUTH_USER_MODEL)),
                ("batch", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="transitions",
                                            to="annotations.batch")),
                ("contractor", models.ForeignKey(blank=True, help_text="Who held the batch when it changed.",
                                                 null=True, on_delete=django.db.models.deletion.PROTECT,
                                                 related_name="+", to="workforce.contractor")),
            ],
            options={"ordering": ["created_at", "id"],
                     "indexes": [models.Index(fields=["batch", "created_at"], name="annotations_batch_i_f9fedc_idx")]},
        ),
    ]
