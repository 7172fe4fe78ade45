"""A job's pay terms live in payroll now (payroll.0002 copied them into its opening PayTermsChange)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0005_gold_source_png_masks"),
        ("payroll", "0002_opening_pay_terms"),
    ]

    operations = [
        migrations.RemoveField(model_name="job", name="currency"),
        migrations.RemoveField(model_name="job", name="hourly_rate"),
        migrations.RemoveField(model_name="job", name="weekly_cap_hours"),
    ]
