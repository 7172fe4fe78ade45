"""What the benchmarks' --smoke runs share: a throwaway database, a small sample job under var/, Redis db 13."""
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# ./run test uses Redis db 14 and developers' test runs db 12; the smoke runs keep to one of their own.
BROKER_URL = "redis://127.0.0.1:6379/13"


def database_url(name: str) -> str:
    """The URL of a smoke run's own database on the local PostgreSQL: `name` suffixed _smoke."""
    return f"postgres://postgres@127.0.0.1:5432/{name}_smoke"


def _admin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path.lstrip("/"), urlunsplit(parts._replace(path="/postgres"))


def database_recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    if "django.db" in sys.modules:  # this process's own connections first, so the drop needs no force for them
        from django.db import connections

        connections.close_all()
    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def dropped_after(database_url: str, broker_url: str) -> Iterator[None]:
    """For the block: afterwards, also on error, the benchmark's database is dropped and its Redis db emptied."""
    import redis

    try:
        yield
    finally:
        database_drop(database_url)
        redis.Redis.from_url(broker_url).flushdb()


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """A fresh, empty database `name`_smoke for the block (its URL), dropped afterwards, also on error."""
    url = database_url(name)
    database_recreate(url)
    try:
        yield url
    finally:
        database_drop(url)


@contextmanager
def sample_job(*, images: int, width: int, height: int) -> Iterator[Path]:
    """A sample job as `manage.py make_sample_job` writes it, in a fresh folder under var/ (photos must live
    there), removed after the block."""
    from demo.sample_job import generate_sample_job

    var = Path(os.environ.get("LABELCREW_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-smoke-", dir=var))
    try:
        generate_sample_job(out=folder / "sample", images=images, width=width, height=height, seed=7)
        yield folder / "sample"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def django_migrated(url: str, *, broker_url: str = "") -> None:
    """Set Django up on the smoke database at `url`, migrated; Celery eager unless `broker_url` is given (a smoke
    run never sends to the broker that a test run's worker is reading)."""
    os.environ.update(DATABASE_URL=url, CELERY_BROKER_URL=broker_url, REDIS_URL=broker_url)
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
