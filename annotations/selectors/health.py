"""The outside services the annotations app depends on, as checks /healthz can run."""
from collections.abc import Callable

from annotations import labelstudio


def service_checks() -> dict[str, Callable[[], str]]:
    """The outside services this app is configured to use, each with a call that answers or raises (for /healthz)."""
    return {"label_studio": labelstudio.server_version} if labelstudio.is_configured() else {}
