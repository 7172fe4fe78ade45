"""Publish version 1 of the contractor agreement and of the annotation guidelines."""
from django.db import migrations
from django.utils import timezone

AGREEMENT = """1. You work as an independent contractor, not as an employee. You choose your hours.
2. Pay is USD 2.00 per hour of logged work, paid weekly to the PayPal or Wise account in your profile.
3. You may work at most 20 hours in a week (Monday 00:00 to Monday 00:00 UTC); time over the limit cannot be logged.
4. Log only time you actually spent labeling. Logged time is compared with the time Label Studio records.
5. The photos belong to the client. Do not copy, share or keep them, and do not use them for anything but this work.
6. Your work is checked against reviewed answers. Work of low quality may be sent back, or your access paused.
7. Either side may end this agreement at any time; hours already worked and approved are paid."""

GUIDELINES = """Mark every damaged pixel of the phone's front glass, and nothing else.
- Scratch: thin lines, straight or curved. Paint their full length, a pixel or two wide.
- Pit: small round dents or dots. Paint each one.
- Blemish: soft smudges or stains that do not wash off.
- Missing surface: chips where glass is missing, usually at an edge.
- Crack: lines that branch out from a point. Follow every branch.
- Discoloration: areas where the screen's tint differs, often large and soft.
The pre-annotation is a model's guess: check it, grow it where it missed damage, trim it where it painted clean glass,
and delete marks on reflections. Zoom in; do not submit the pre-annotation unchanged."""


def publish(apps, schema_editor):
    Agreement = apps.get_model("workforce", "Agreement")
    now = timezone.now()
    Agreement.objects.get_or_create(kind="contractor_agreement", version=1, defaults={
        "title": "Contractor agreement", "body": AGREEMENT, "published_at": now})
    Agreement.objects.get_or_create(kind="guidelines", version=1, defaults={
        "title": "Annotation guidelines", "body": GUIDELINES, "published_at": now})


class Migration(migrations.Migration):
    dependencies = [("workforce", "0001_initial")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
