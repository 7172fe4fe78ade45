"""One person, one cap, by device: each sign-in of a contractor is recorded under the device's fingerprint, and an
account that signs in from a device another open account signed in from is held for staff review.

The fingerprint is sha256 of a first-party cookie (`labelcrew_device`, 128 random bits, set at the first sign-in
from a browser, kept two years, HttpOnly) and the browser's user agent. Chosen over a browser fingerprint (canvas,
fonts, screen) or a third-party tracker because it needs no script, sends nothing to anyone else, and names one
browser profile exactly: two people on two phones never collide, and clearing cookies is the only way out of it,
which a second account made on purpose must then do every time. The user agent keeps a cookie copied to another
browser from matching. Only the hash is stored (with the user agent for staff to read), never the cookie itself.
An IP address is not used: a household, a campus or a mobile carrier shares one among many people.
"""
import hashlib
import re
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from workforce.models import Contractor, DeviceSignIn, OnboardingState
from workforce.selectors.linked import device_links, held_evidence

DEVICE_COOKIE = "labelcrew_device"
DEVICE_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")
USER_AGENT_LENGTH = 300


def device_token(cookie: str | None) -> tuple[str, bool]:
    """The device's token from its cookie, or a new one (True: the cookie must be set)."""
    if cookie and _TOKEN.fullmatch(cookie):
        return cookie, False
    return secrets.token_hex(16), True


def device_fingerprint(*, token: str, user_agent: str) -> str:
    return hashlib.sha256(f"{token}\n{user_agent}".encode()).hexdigest()


@transaction.atomic
def device_sign_in_record(*, contractor: Contractor, token: str, user_agent: str,
                          now: datetime | None = None) -> DeviceSignIn:
    """Record a sign-in of the contractor from the device. The first sign-in of this account from a device that
    another open account signed in from holds this account for review, the evidence written on it."""
    now = now or timezone.now()
    user_agent = user_agent[:USER_AGENT_LENGTH]
    fingerprint = device_fingerprint(token=token, user_agent=user_agent)
    row, created = DeviceSignIn.objects.select_for_update().get_or_create(
        contractor=contractor, fingerprint=fingerprint,
        defaults={"user_agent": user_agent, "first_seen_at": now, "last_seen_at": now})
    if not created:
        row.last_seen_at, row.sign_ins = now, row.sign_ins + 1
        row.save(update_fields=["last_seen_at", "sign_ins"])
        return row
    others = [link for link in device_links(contractor) if link.fingerprint == fingerprint]
    if others:
        locked = Contractor.objects.select_for_update().get(pk=contractor.pk)
        if locked.state not in (OnboardingState.REJECTED, OnboardingState.OFFBOARDED):
            locked.link_evidence = held_evidence([link.reason for link in others], before=locked.link_evidence)
            locked.save(update_fields=["link_evidence", "updated_at"])
            contractor.link_evidence = locked.link_evidence
    return row
