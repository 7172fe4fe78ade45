"""Celery: a task sent through Redis runs in a real worker process on the test database."""
import os

import pytest
from django.db import connection

from config.celery import app, diagnostics


@pytest.mark.django_db(transaction=True)
def test_task_sent_through_redis_runs_in_the_worker_process_and_returns(celery_worker: str) -> None:
    result = diagnostics.delay()
    answer = result.get(timeout=30)
    assert answer["pid"] != os.getpid()
    assert answer["database_vendor"] == "postgresql"
    assert answer["database_name"] == connection.settings_dict["NAME"]
    assert app.conf.broker_url.startswith("redis://")


def test_tasks_are_routed_per_app_and_acknowledged_late() -> None:
    assert app.amqp.router.route({}, "annotations.tasks.score_annotation")["queue"].name == "scoring"
    assert app.amqp.router.route({}, "annotations.tasks.sync_annotations")["queue"].name == "labelstudio"
    assert app.amqp.router.route({}, "annotations.tasks.create_job_from_zip")["queue"].name == "default"
    assert app.amqp.router.route({}, "payroll.tasks.close_week")["queue"].name == "payroll"
    assert app.conf.task_acks_late is True
    assert app.conf.broker_transport_options["visibility_timeout"] >= 3600
