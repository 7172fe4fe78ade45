"""Encryption of the few secrets LabelCrew must be able to show again (never stored in plain text)."""
import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    # A key of its own if set; otherwise one derived from SECRET_KEY, which production requires anyway.
    key = settings.FIELD_ENCRYPTION_KEY or base64.urlsafe_b64encode(
        hashlib.sha256(f"labelcrew-fields:{settings.SECRET_KEY}".encode()).digest()).decode()
    return Fernet(key)


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def unseal(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()
