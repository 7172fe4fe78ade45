"""/healthz reports every configured service and names the ones that are down."""
import socket

import pytest
from django.test import Client, override_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_healthz_is_200_when_database_redis_worker_and_label_studio_answer(
    client: Client, celery_worker: str, label_studio: str
) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["down"] == []
    assert set(body["services"]) == {"database", "redis", "celery", "label_studio"}
    assert body["services"]["label_studio"]["detail"] == "1.23.2"


@pytest.mark.django_db
def test_healthz_is_503_naming_label_studio_when_it_does_not_answer(
    client: Client, celery_worker: str, label_studio: str
) -> None:
    with override_settings(LABEL_STUDIO_URL=f"http://127.0.0.1:{_closed_port()}"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["label_studio"]
    assert "Label Studio unavailable" in body["services"]["label_studio"]["detail"]


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_it_does_not_answer(client: Client, celery_worker: str) -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "redis" in response.json()["down"]
