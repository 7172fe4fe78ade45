"""Payroll owns every job's pay terms: each job's own rate and cap become its opening PayTermsChange.

Runs before annotations.0006 removes Job.hourly_rate, Job.currency and Job.weekly_cap_hours.
"""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OPENING_REASON = "The job's terms when it was made."


def jobs_terms_to_opening_changes(apps, schema_editor):
    Job = apps.get_model("annotations", "Job")
    PayTermsChange = apps.get_model("payroll", "PayTermsChange")
    # Payroll pays in one currency (statements, exports); a job priced in another cannot be carried over.
    other = list(Job.objects.exclude(currency=settings.PAYROLL_CURRENCY).values_list("pk", "currency"))
    if other:
        raise RuntimeError(f"Jobs priced in a currency other than {settings.PAYROLL_CURRENCY}: {other}.")
    PayTermsChange.objects.bulk_create(
        [PayTermsChange(job_id=job.pk, effective_from=None, hourly_rate=job.hourly_rate,
                        weekly_cap_hours=job.weekly_cap_hours, reason=OPENING_REASON,
                        created_by_id=job.created_by_id, created_at=job.created_at)
         for job in Job.objects.order_by("pk").iterator(chunk_size=2000)],
        batch_size=2000)


def opening_changes_to_jobs_terms(apps, schema_editor):
    Job = apps.get_model("annotations", "Job")
    PayTermsChange = apps.get_model("payroll", "PayTermsChange")
    opening = PayTermsChange.objects.filter(effective_from__isnull=True)
    for change in opening.iterator(chunk_size=2000):
        Job.objects.filter(pk=change.job_id).update(hourly_rate=change.hourly_rate,
                                                     weekly_cap_hours=change.weekly_cap_hours,
                                                     currency=settings.PAYROLL_CURRENCY)
    opening.delete()


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0005_gold_source_png_masks"),
        ("payroll", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="paytermschange",
            name="effective_from",
            field=models.DateTimeField(blank=True, help_text="Empty: the job's opening terms.", null=True),
        ),
        migrations.AlterField(
            model_name="paytermschange",
            name="created_by",
            field=models.ForeignKey(blank=True, help_text="Empty for opening terms of a job made by a command.",
                                    null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="paytermschange",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AlterModelOptions(
            name="paytermschange",
            options={"ordering": ["job", models.OrderBy(models.F("effective_from"), nulls_first=True)]},
        ),
        migrations.AddConstraint(
            model_name="paytermschange",
            constraint=models.UniqueConstraint(condition=models.Q(("effective_from__isnull", True)),
                                               fields=("job",), name="pay_terms_open_once_per_job"),
        ),
        # Last, so that on the way back the opening rows are gone before effective_from is required again.
        migrations.RunPython(jobs_terms_to_opening_changes, opening_changes_to_jobs_terms),
    ]
