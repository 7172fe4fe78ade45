"""Staff roles: putting a staff member in a role's group (common.roles), the group kept in step with the roles."""
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from common.errors import DomainError
from common.roles import ROLES
from workforce.models import Contractor, User


def _role_group(role: str) -> Group:
    """The role's group holding exactly the role's permissions (made by payroll's migration 0004; remade here if a
    role changed since or the group was deleted)."""
    wanted = Q()
    for dotted in ROLES[role]:
        app_label, codename = dotted.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    permissions = list(Permission.objects.filter(wanted))
    if len(permissions) != len(ROLES[role]):
        raise DomainError(f"role: the permissions of {role} are missing; run migrate first.", field="role")
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.set(permissions)
    return group


@transaction.atomic
def staff_role_grant(*, user: User, role: str) -> Group:
    """Make `user` staff in `role` (operations, reviewer, payroll or admin); roles add up. A contractor's own login
    is refused: the same person's staff work needs a separate account."""
    if role not in ROLES:
        raise DomainError(f"role: {role!r} is not a staff role; the roles are {', '.join(ROLES)}.", field="role")
    if Contractor.objects.filter(user=user).exists():
        raise DomainError(f"user: {user.email} is a contractor's login; staff roles go to staff accounts.",
                          field="user")
    group = _role_group(role)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):  # ModelBackend's, on this object
        user.__dict__.pop(cache, None)
    return group
