"""The Celery app: Redis broker and results, task routes per app, beat from the database."""
import os
import socket

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("labelcrew")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="labelcrew.diagnostics")
def diagnostics() -> dict:
    """Say which process ran it and which database it sees; used by /healthz tests and ops."""
    from django.db import connection  # here: config/__init__ loads this module before Django is set up

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "database_vendor": connection.vendor,
        "database_name": str(connection.settings_dict["NAME"]),
    }
