"""Give a staff member a role: manage.py staff_role_grant EMAIL ROLE (operations, reviewer, payroll or admin)."""
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from common.roles import ROLES
from workforce.models import User, normalize_email_address
from workforce.services.staff import staff_role_grant


class Command(BaseCommand):
    help = "Put an existing login in a staff role (it becomes staff); roles add up. Payroll and admin need a " \
           "second factor, which the user sets up at their next staff page."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", choices=sorted(ROLES))

    def handle(self, *args: object, email: str, role: str, **options: object) -> None:
        user = User.objects.filter(email=normalize_email_address(email)).first()
        if user is None:
            raise CommandError(f"email: no login with the address {email!r}; make it first (ensure_staff_user).")
        try:
            staff_role_grant(user=user, role=role)
        except DomainError as error:
            raise CommandError(error.message) from None
        roles = ", ".join(user.groups.order_by("name").values_list("name", flat=True))
        self.stdout.write(f"{user.email} is staff in: {roles}")
