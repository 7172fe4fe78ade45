"""The password of an operator or demo login, read from a file so that it never appears on a command line."""
from pathlib import Path

from django.core.management.base import CommandError

MIN_LENGTH = 12


def password_from_file(path: Path) -> str:
    """The file's password (surrounding whitespace stripped), or one readable CommandError line."""
    if not path.is_file():
        raise CommandError(f"--password-file: {path} does not exist")
    password = path.read_text().strip()
    if len(password) < MIN_LENGTH:
        raise CommandError(f"--password-file: the password in {path} is shorter than {MIN_LENGTH} characters")
    return password
