"""Staff roles: the custom permission each kind of staff page needs, and which role holds which.

Each role is a Django group of the same name (made by payroll's migration 0004, kept in step by
workforce.services.staff.staff_role_grant); superusers hold every permission. The permissions are declared on a
model of the app they belong to (Meta.permissions), so `user.has_perm("annotations.operate_jobs")` reads as usual.
"""
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

OPERATE_JOBS = "annotations.operate_jobs"  # jobs, batches, assignment, imports, publishing, deliveries
REVIEW_WORK = "annotations.review_work"  # the review queue and its decisions, gold, the quality boards
RUN_PAYROLL = "payroll.run_payroll"  # timesheets, pay runs, payout files, exports, pay terms
DECIDE_APPLICANTS = "workforce.decide_applicants"  # applicants, their approval, agreements, the contractor lists

# Applicants go with operations (who staff the jobs) and admin: approving a contractor is what lets them hold
# batches, which is operations' business; it grants no money and no review rights.
ROLES: dict[str, frozenset[str]] = {
    "operations": frozenset({OPERATE_JOBS, DECIDE_APPLICANTS}),
    "reviewer": frozenset({REVIEW_WORK}),
    "payroll": frozenset({RUN_PAYROLL}),
    "admin": frozenset({OPERATE_JOBS, REVIEW_WORK, RUN_PAYROLL, DECIDE_APPLICANTS}),
}

# Whoever can move money (payroll, admin, superusers) must have a second factor before any staff page opens.
SECOND_FACTOR_PERMISSION = RUN_PAYROLL

# Pages every staff role may read (the API schema and its docs), declared instead of a codename.
ANY_STAFF_ROLE = "any-staff-role"

_EVERY_STAFF_PERMISSION = frozenset().union(*ROLES.values())


def staff_role_allows(user: Any, permission: str) -> bool:
    """Whether this user is active staff holding `permission` (an "app.codename" of common.roles, or
    ANY_STAFF_ROLE for pages every staff role may read). A contractor put in a group by mistake stays out."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    if permission == ANY_STAFF_ROLE:
        return any(user.has_perm(p) for p in _EVERY_STAFF_PERMISSION)
    return user.has_perm(permission)


def second_factor_missing(user: Any) -> bool:
    """Whether this user may move money (payroll, admin, superuser) yet has no activated authenticator; a login of
    a user with one passes allauth's code step, so having one is what a session of theirs proves."""
    return user.has_perm(SECOND_FACTOR_PERMISSION) and not is_mfa_enabled(user)


def staff_holding(permission: str) -> QuerySet:
    """The active staff who hold `permission` through a role, on their own, or as superusers (the custom user
    manager has no with_perm)."""
    app_label, codename = permission.split(".")
    through_group = Q(groups__permissions__content_type__app_label=app_label, groups__permissions__codename=codename)
    own = Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename)
    return (get_user_model().objects.filter(through_group | own | Q(is_superuser=True), is_staff=True, is_active=True)
            .distinct())
