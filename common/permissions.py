"""The API's staff permission: a DRF permission class per staff permission of common.roles."""
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from common.decorators import SECOND_FACTOR_NEEDED
from common.roles import ANY_STAFF_ROLE, second_factor_missing, staff_role_allows


class StaffPermission(BasePermission):
    """A staff endpoint needing `required` (see common.roles); made per permission by staff_permission(). Payroll
    and admin staff without a second factor are refused too, with where to set one up."""

    required: str = ""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not staff_role_allows(request.user, self.required):
            self.message = f"Staff holding {self.required} only."
            return False
        if second_factor_missing(request.user):
            self.message = f"{SECOND_FACTOR_NEEDED} Set it up at /accounts/2fa/totp/activate/."
            return False
        return True


def staff_permission(required: str) -> type[StaffPermission]:
    """The permission class of a staff endpoint needing `required`: `permission_classes = [staff_permission(...)]`."""
    return type(f"Staff({required})", (StaffPermission,), {"required": required})


class AnyStaffRole(StaffPermission):
    """For what every staff role may read (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS names it by path)."""

    required = ANY_STAFF_ROLE
