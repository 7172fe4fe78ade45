"""The staff roles as groups (common.roles, frozen here as it was): operations, reviewer, payroll, admin.

The permissions are made here when missing (Django makes them after migrating, too late for this step); the
staff_role_grant command keeps a group in step with common.roles when a role changes later.
"""
from django.db import migrations

ROLES = {
    "operations": ["annotations.operate_jobs", "workforce.decide_applicants"],
    "reviewer": ["annotations.review_work"],
    "payroll": ["payroll.run_payroll"],
    "admin": ["annotations.operate_jobs", "annotations.review_work", "payroll.run_payroll",
              "workforce.decide_applicants"],
}
MODEL_OF = {"annotations": "job", "payroll": "payrun", "workforce": "contractor"}
NAMES = {
    "annotations.operate_jobs": "Run jobs, batches, assignment, imports, publishing and deliveries",
    "annotations.review_work": "Review annotations, gold and the quality boards",
    "payroll.run_payroll": "Approve timesheets, run pay, download payout files and exports, set pay terms",
    "workforce.decide_applicants": "Decide applicants and read the contractors, agreements and transitions",
}


def make_groups(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for role, permissions in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=MODEL_OF[app_label])
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": NAMES[dotted]})
            group.permissions.add(permission)


def drop_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("annotations", "0015_staff_role_permissions"),
        ("payroll", "0003_staff_role_permissions"),
        ("workforce", "0005_staff_role_permissions"),
    ]

    operations = [migrations.RunPython(make_groups, drop_groups)]
