"""Test harness: a real Celery worker process on the test database, and the real Label Studio.

./run test starts Label Studio and exports the service URLs; the worker is started here,
once per session, after pytest-django has created the test database, so tasks it runs
see the rows that transactional tests commit.
"""
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import override_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = REPO_ROOT / "var" / "test-logs"


@pytest.fixture(autouse=True)
def _rows_of_data_migrations(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table when they end, the rows data migrations made (the
    published agreements, the site name) included: put them back for each transactional test."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction", False):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps
    from django.contrib.sites.models import Site

    importlib.import_module("workforce.migrations.0002_initial_agreements").publish(apps, None)
    importlib.import_module("workforce.migrations.0003_site_name").name_site(apps, None)
    Site.objects.clear_cache()


def _database_url(db: dict) -> str:
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """A `celery worker` process consuming every queue; yields its node name."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("These tests need Redis and a worker: run them with ./run test (CELERY_BROKER_URL unset).")
    from django.db import connection

    from config.celery import app

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    node = f"pytest-{os.getpid()}@localhost"
    env = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict)}
    app.control.purge()
    with open(LOG_DIR / "celery-worker.log", "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--queues", ",".join(settings.CELERY_QUEUES_ALL),
                "--hostname", node, "--concurrency", "2", "--loglevel", "INFO",
                "--without-gossip", "--without-mingle",
            ],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=1.0):
            if process.poll() is not None:
                pytest.fail(f"Celery worker exited with {process.returncode}; see {LOG_DIR / 'celery-worker.log'}")
            if time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not answer a ping within 60 s; see {LOG_DIR / 'celery-worker.log'}")
        yield node
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_idle(node: str) -> bool:
    """Nothing queued in Redis and nothing held by the worker (a flush under a running task deadlocks it)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        if any(conn.default_channel.client.llen(queue) for queue in settings.CELERY_QUEUES_ALL):
            return False
    inspect = app.control.inspect(destination=[node], timeout=1.0)
    return not any((found or {}).get(node) for found in (inspect.active(), inspect.reserved(), inspect.scheduled()))


@pytest.fixture(autouse=True)
def _worker_done_before_teardown(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test with the worker waits (up to 30 s) for what it queued (scores, edit evidence, agreement) to finish
    before its database is flushed: a task still writing while the flush truncates deadlocks the two."""
    yield
    if "celery_worker" not in request.fixturenames:
        return
    node = request.getfixturevalue("celery_worker")
    deadline = time.monotonic() + 30
    while not worker_idle(node) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture(scope="session")
def label_studio() -> str:
    """The URL of the real Label Studio server that ./run test started."""
    from annotations import labelstudio

    if not labelstudio.is_configured():
        pytest.fail("Label Studio is not configured: run the tests with ./run test, which starts it.")
    return settings.LABEL_STUDIO_URL


@pytest.fixture(scope="session")
def gateway(live_server: object) -> Iterator[str]:
    """The URL of the gateway (nginx) that ./run test started, now asking this session's live server, which is
    also the site the gateway sends people to (sign in, dashboard)."""
    if not settings.GATEWAY_SECRET or settings.LABEL_STUDIO_PUBLIC_URL == settings.LABEL_STUDIO_URL:
        pytest.fail("The gateway is not running: run the tests with ./run test, which starts it.")
    address = live_server.url.removeprefix("http://")  # type: ignore[attr-defined]
    subprocess.run([str(REPO_ROOT / "scripts" / "gateway"), "start"], env={**os.environ, "GATEWAY_APP": address},
                   check=True, capture_output=True, timeout=60)
    site = override_settings(SITE_URL=live_server.url)  # type: ignore[attr-defined]
    site.enable()
    yield settings.LABEL_STUDIO_PUBLIC_URL
    site.disable()
