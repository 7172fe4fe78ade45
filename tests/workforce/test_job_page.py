"""The public job page: defect close-ups from the sample job, and the account pages it leads to."""
import io
import re
from pathlib import Path

import pytest
from django.test import Client, override_settings
from PIL import Image

from annotations.defects import DEFECT_CLASSES
from demo.sample_job import generate_sample_job
from workforce.models import User


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "job"
    generate_sample_job(out=out, images=3, width=640, height=427, seed=3)
    return out


@pytest.mark.django_db
def test_job_page_shows_a_close_up_of_every_defect_class(client: Client, sample_dir: Path) -> None:
    with override_settings(SAMPLE_JOB_DIR=sample_dir):
        page = client.get("/").content.decode()
        for defect in DEFECT_CLASSES:
            assert f'src="/job/examples/{defect.key}.jpg"' in page
            response = client.get(f"/job/examples/{defect.key}.jpg")
            assert response.status_code == 200
            assert response["Content-Type"] == "image/jpeg"
            image = Image.open(io.BytesIO(response.content))
            assert image.format == "JPEG"
            assert max(image.size) == 320
        assert client.get("/job/examples/not-a-class.jpg").status_code == 404


@pytest.mark.django_db
def test_job_page_without_a_sample_job_lists_the_classes_without_pictures(client: Client, tmp_path: Path) -> None:
    with override_settings(SAMPLE_JOB_DIR=tmp_path / "none"):
        page = client.get("/").content.decode()
    assert "/job/examples/" not in page
    assert all(d.label in page for d in DEFECT_CLASSES)


@pytest.mark.django_db
def test_password_reset_mails_a_link_that_sets_a_new_password(client: Client, mailoutbox: list) -> None:
    User.objects.create_user("ana@example.org", "a-long-test-password")
    client.post("/accounts/password/reset/", {"email": "ANA@example.org"})
    assert [m.to for m in mailoutbox] == [["ana@example.org"]]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)
    opened = client.get(link)  # allauth moves the key into the session and redirects to the form
    form_url = opened["Location"] if opened.status_code == 302 else link
    done = client.post(form_url, {"password1": "another-long-password", "password2": "another-long-password"})
    assert done.status_code == 302
    assert User.objects.get(email="ana@example.org").check_password("another-long-password")
