"""The one door from the annotations services to Celery: tasks sent by name, once the transaction commits.

By name (annotations.tasks.<name>), so no service imports tasks.py, which imports the services: the
import graph stays a tree. A signature by name runs the registered task (eagerly in embedded mode,
where annotations' AppConfig registers the tasks); CELERY_TASK_ROUTES picks the queue either way.
"""
from collections.abc import Callable, Iterable, Sequence

from celery import current_app, group
from celery.canvas import Signature
from celery.exceptions import Retry
from django.db import transaction

from common.errors import ServiceUnavailable

TASKS_MODULE = "annotations.tasks"


def _sent(signature: Signature) -> Callable[[], object]:
    """What on_commit calls to send `signature`. In embedded mode the task runs there and then, and one that must
    wait for Label Studio raises Celery's Retry into the request (a worker would retry it later): that becomes a
    503 saying what is down, not a server error; the task's own work is transactional, so nothing half-done stays."""
    def send() -> object:
        try:
            return signature.apply_async()
        except Retry as retry:
            raise ServiceUnavailable(f"Not done now, try again later: {retry.exc or retry.message}") from retry
    return send


def _signature(name: str, args: Sequence[object]) -> Signature:
    return current_app.signature(f"{TASKS_MODULE}.{name}", args=list(args))


def task_send(name: str, *args: object) -> None:
    """Queue annotations.tasks.<name>(*args) after the current transaction commits (at once outside one)."""
    signature = _signature(name, args)
    transaction.on_commit(_sent(signature))


def tasks_send(name: str, calls: Iterable[Sequence[object]]) -> int:
    """Queue one annotations.tasks.<name> per argument list, as one group, after commit; returns how many."""
    signatures = [_signature(name, args) for args in calls]
    if signatures:
        transaction.on_commit(_sent(group(signatures)))
    return len(signatures)
