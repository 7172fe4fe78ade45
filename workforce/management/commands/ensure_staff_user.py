"""Create or update a staff superuser in the admin role non-interactively (the demo's and an operator's first
login); like every admin, it sets up a second factor at its first staff page."""
from argparse import ArgumentParser
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from common.password_file import password_from_file
from common.roles import ROLES
from workforce.services.accounts import user_ensure, user_sign_in_set
from workforce.services.staff import staff_role_grant


class Command(BaseCommand):
    help = "Create or update a staff superuser whose password is read from a file (never from the command line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-file", required=True, type=Path)
        parser.add_argument("--role", choices=sorted(ROLES), default="admin",
                            help="admin (default: a superuser) or one role (operations, reviewer, payroll): not a "
                                 "superuser, holding that role's permissions only")

    @transaction.atomic
    def handle(self, *args: object, email: str, password_file: Path, role: str = "admin", **options: object) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: {email!r} is not an email address") from None
        password = password_from_file(password_file)
        user, created = user_ensure(email=email, staff=True)
        user.is_staff, user.is_superuser = True, role == "admin"
        user_sign_in_set(user=user, password=password)
        # A superuser holds every permission anyway; the admin group says so where staff lists show groups.
        staff_role_grant(user=user, role=role)
        self.stdout.write(f"{'created' if created else 'updated'} staff user {email}")
