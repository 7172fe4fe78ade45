"""The only module that talks to Label Studio: a configured SDK client with timeouts and retries.

Every call goes through `call()`, which retries connection errors and 5xx answers with
exponential backoff and turns what is left into one exception, `LabelStudioUnavailable`.
"""
import logging
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import httpx
from django.conf import settings
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class LabelStudioUnavailable(Exception):
    """Label Studio could not be reached or answered with a server error."""


class LabelStudioNotConfigured(LabelStudioUnavailable):
    """LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY are not set."""


def is_configured() -> bool:
    return bool(settings.LABEL_STUDIO_URL and settings.LABEL_STUDIO_API_KEY)


@cache
def _client(base_url: str, api_key: str, timeout: float) -> LabelStudio:
    # Retries are ours (call()), so the SDK's own are off: one policy, one place.
    return LabelStudio(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


def client() -> LabelStudio:
    if not is_configured():
        raise LabelStudioNotConfigured("Label Studio is not configured: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY.")
    return _client(settings.LABEL_STUDIO_URL, settings.LABEL_STUDIO_API_KEY, settings.LABEL_STUDIO_TIMEOUT)


def call(operation: Callable[[LabelStudio], T], *, what: str, attempts: int = 3, backoff: float = 0.5) -> T:
    """Run `operation(client)`, retrying transient failures; `what` names it in the error."""
    ls = client()
    for attempt in range(1, attempts + 1):
        try:
            return operation(ls)
        except httpx.TransportError as exc:
            reason = f"cannot reach {settings.LABEL_STUDIO_URL} ({exc.__class__.__name__})"
        except ApiError as exc:
            if exc.status_code is None or exc.status_code < 500:
                raise
            reason = f"server error HTTP {exc.status_code}"
        if attempt < attempts:
            logger.warning("Label Studio %s failed (%s); retry %d of %d", what, reason, attempt, attempts - 1)
            time.sleep(backoff * 2 ** (attempt - 1))
    raise LabelStudioUnavailable(f"Label Studio unavailable while trying to {what}: {reason}.")


def server_version() -> str:
    """The running server's release, e.g. '1.23.2'."""
    return call(lambda ls: ls.versions.get().release, what="read its version", attempts=1)
