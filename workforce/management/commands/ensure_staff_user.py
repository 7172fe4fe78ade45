"""Create or update a staff superuser non-interactively (the demo's and an operator's first login)."""
from argparse import ArgumentParser
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from workforce.models import normalize_email_address


class Command(BaseCommand):
    help = "Create or update a staff superuser whose password is read from a file (never from the command line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-file", required=True, type=Path)

    @transaction.atomic
    def handle(self, *args: object, email: str, password_file: Path, **options: object) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: {email!r} is not an email address") from None
        if not password_file.is_file():
            raise CommandError(f"--password-file: {password_file} does not exist")
        password = password_file.read_text().strip()
        if len(password) < 12:
            raise CommandError(f"--password-file: the password in {password_file} is shorter than 12 characters")
        user, created = get_user_model().objects.get_or_create(email=normalize_email_address(email))
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        # allauth signs in (with mandatory verification) only addresses it has on file as verified.
        EmailAddress.objects.filter(user=user).exclude(email=user.email).delete()
        EmailAddress.objects.update_or_create(user=user, email=user.email,
                                              defaults={"verified": True, "primary": True})
        self.stdout.write(f"{'created' if created else 'updated'} staff user {email}")
